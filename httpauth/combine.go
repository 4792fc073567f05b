package httpauth

import (
	"context"
	"errors"
	"fmt"
)

// AllOf allows an identity only if every authorizer allows it. They run in
// order and the first refusal is returned; the rest are not called. With no
// authorizers it refuses everything (a configuration error, logged as such),
// because an empty list must never mean "allow all".
func AllOf(authorizers ...Authorizer) Authorizer {
	if len(authorizers) == 0 {
		return misconfigured("AllOf: no authorizers given")
	}
	return func(ctx context.Context, id *Identity) error {
		for _, az := range authorizers {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := az(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
}

// AnyOf allows an identity if one authorizer allows it. They run in order
// and stop at the first that allows; if all refuse, the refusals are
// returned joined (the first *Error among them decides the status). With no
// authorizers it refuses everything.
func AnyOf(authorizers ...Authorizer) Authorizer {
	if len(authorizers) == 0 {
		return misconfigured("AnyOf: no authorizers given")
	}
	return func(ctx context.Context, id *Identity) error {
		errs := make([]error, 0, len(authorizers))
		for _, az := range authorizers {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := az(ctx, id)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("no rule allowed it: %w", errors.Join(errs...))
	}
}
