package httpauth

import "context"

// identityKey is unexported so no other package can collide with it.
type identityKey struct{}

// NewContext returns a copy of ctx that carries id. The middleware and the
// upgrade gate do this for you.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity stored by [Authenticator.Middleware] (or
// [NewContext]). It is present also when authorization failed, so loggers
// can see who was refused; ok is false when there is none.
func FromContext(ctx context.Context) (id *Identity, ok bool) {
	id, ok = ctx.Value(identityKey{}).(*Identity)
	return id, ok && id != nil
}
