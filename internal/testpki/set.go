package testpki

import (
	"testing"
	"time"
)

// Set is the fixture set of the security cases: the names there (alice,
// bob, forged-admin, expired, server-only) map to the fields here. Every key
// is ECDSA P-256, and every validity is measured from the moment [NewSet]
// ran.
type Set struct {
	// Root is the trusted root; Intermediate is signed by it and issues the
	// client certificates below.
	Root, Intermediate *Authority
	// Alice and Bob are valid client certificates issued by Intermediate,
	// each with CN, email SAN <name>@example.com, URI SAN
	// spiffe://example.org/user/<name> and DNS SAN <name>.example.com.
	Alice, Bob *Leaf
	// Forged is self-signed with CN admin and client-auth usage: no
	// authority vouches for it.
	Forged *Leaf
	// Expired has CN expired, is issued by Intermediate and is past its
	// NotAfter.
	Expired *Leaf
	// NotYetValid has CN future, is issued by Intermediate and is before its
	// NotBefore.
	NotYetValid *Leaf
	// ServerOnly has CN server-only, is issued by Intermediate and has only
	// the server-auth extended key usage.
	ServerOnly *Leaf
	// Server is a server certificate for localhost, 127.0.0.1 and ::1
	// issued by Root.
	Server *Leaf
	// OtherRoot is a root CA unrelated to Root.
	OtherRoot *Authority
	// Stranger carries alice's exact identity (CN and SANs) but is issued by
	// OtherRoot: the unknown-CA case.
	Stranger *Leaf
}

// NewSet mints a fresh [Set]. It generates only ECDSA keys, so it is fast
// enough to call once per test.
func NewSet() (*Set, error) {
	now := WithNow(time.Now())
	s := &Set{}
	// Errors already name the package and the failed step (key generation
	// or signing), the same for every fixture, so they pass through as is.
	var err error
	if s.Root, err = NewRoot(now); err != nil {
		return nil, err
	}
	if s.Intermediate, err = s.Root.Intermediate(now); err != nil {
		return nil, err
	}
	if s.OtherRoot, err = NewRoot(now, WithCN("certgate other root")); err != nil {
		return nil, err
	}
	leaves := []struct {
		dst  **Leaf
		mint func(...Option) (*Leaf, error)
		opts []Option
	}{
		{&s.Alice, s.Intermediate.Leaf, user("alice")},
		{&s.Bob, s.Intermediate.Leaf, user("bob")},
		{&s.Forged, SelfSigned, []Option{WithCN("admin")}},
		{&s.Expired, s.Intermediate.Leaf, []Option{WithCN("expired"), Expired()}},
		{&s.NotYetValid, s.Intermediate.Leaf, []Option{WithCN("future"), NotYetValid()}},
		{&s.ServerOnly, s.Intermediate.Leaf, []Option{WithCN("server-only"), ServerOnly()}},
		{&s.Server, s.Root.Server, nil},
		{&s.Stranger, s.OtherRoot.Leaf, user("alice")},
	}
	for _, l := range leaves {
		if *l.dst, err = l.mint(append([]Option{now}, l.opts...)...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// user returns the options of a valid client named name.
func user(name string) []Option {
	return []Option{
		WithCN(name),
		WithEmail(name + "@example.com"),
		WithURI("spiffe://example.org/user/" + name),
		WithDNS(name + ".example.com"),
	}
}

// MustSet returns a fresh [Set] or stops the test with tb.Fatal. Each call
// mints new keys; nothing is cached between calls.
func MustSet(tb testing.TB) *Set {
	tb.Helper()
	s, err := NewSet()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
