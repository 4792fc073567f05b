package httpauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// AllOf allows an identity only if every authorizer allows it. They run in
// order and the first refusal is returned; the rest are not called.
//
// With no authorizers, a nil one, or one a helper built from unusable
// arguments, it is itself misconfigured, and [New] refuses it naming the
// position and the helper: an empty list must never mean "allow all", and
// a nil entry would fail every request.
func AllOf(authorizers ...Authorizer) Authorizer {
	if bad := checkCombined("AllOf", authorizers); bad != nil {
		return bad
	}
	authorizers = slices.Clone(authorizers) // the caller's slice may change
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
// returned joined (the first *Error among them decides the status). Its
// arguments are checked as [AllOf]'s: one misconfigured entry makes the
// whole misconfigured, although the others might have allowed, because a
// rule the operator wrote but that can never match is a typo to fix, not
// an alternative to skip.
func AnyOf(authorizers ...Authorizer) Authorizer {
	if bad := checkCombined("AnyOf", authorizers); bad != nil {
		return bad
	}
	authorizers = slices.Clone(authorizers)
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

// checkCombined returns the misconfigured Authorizer of a combinator given
// no authorizers, a nil one or a misconfigured one, carrying the first
// problem up so that New sees it however deep it is nested.
func checkCombined(name string, authorizers []Authorizer) Authorizer {
	if len(authorizers) == 0 {
		return misconfigured(name + ": no authorizers given")
	}
	for i, az := range authorizers {
		if az == nil {
			return misconfigured(fmt.Sprintf("%s: authorizer %d is nil", name, i))
		}
		if msg := helperMisuse(az); msg != "" {
			return misconfigured(fmt.Sprintf("%s: authorizer %d: %s", name, i, msg))
		}
	}
	return nil
}
