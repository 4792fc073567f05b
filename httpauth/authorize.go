package httpauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Authorizer decides whether a verified identity may pass: nil allows, an
// error refuses. A plain error means 403 and its text is only logged; to
// choose the status or the text the client sees, return an *[Error] (its
// Public field is sent, its Reason is logged).
//
// It is only ever called with a verified certificate, except with
// [Config.InsecureSkipHeaderVerification], when id.Verified says which.
//
// ctx is the request's context with [Config.AuthorizeTimeout] applied. An
// Authorizer that calls out (a database, a policy service) must honour it:
// one that ignores ctx is abandoned at the deadline (the request gets a
// 503), but its goroutine runs on until it returns.
//
// A helper (AllowCN, AllowFingerprints, …, AllOf, AnyOf) given an unusable
// argument (an empty list, a malformed fingerprint, a nil authorizer) does
// not panic and allows nothing: [New] refuses a Config.Authorize built from
// it, directly or nested in AllOf and AnyOf, with a message naming the
// helper and the bad value. Values read from a configuration file can
// therefore go straight into the helpers, with no Must form or error to
// check, and a typo stops the server at start-up. Only a helper New cannot
// see, one called inside an Authorizer function of your own, reaches
// requests; it refuses each with a logged 500. So build helpers once, at
// start-up, and combine them with AllOf and AnyOf.
type Authorizer func(ctx context.Context, id *Identity) error

// authorize runs the authorizer with a deadline. It runs in its own
// goroutine so that one which ignores its context cannot hold the request
// past the deadline; a panic is recovered into a 500 (AUTHZ-01).
func (a *Authenticator) authorize(r *http.Request, id *Identity) error {
	if a.authz == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	done := make(chan error, 1) // buffered: a late answer must not block
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- &Error{
					Status: http.StatusInternalServerError,
					Reason: fmt.Errorf("%w: panic: %v", ErrAuthorizer, p),
					Public: "authorization unavailable", // never the panic text
				}
			}
		}()
		done <- a.authz(ctx, id)
	}()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil {
			return timeoutError(r.Context(), a.timeout)
		}
		return authzError(err)
	case <-ctx.Done():
		return timeoutError(r.Context(), a.timeout)
	}
}

func timeoutError(parent context.Context, timeout time.Duration) error {
	if parent.Err() != nil {
		return &Error{Status: http.StatusServiceUnavailable, Reason: fmt.Errorf("%w: request cancelled during authorization", ErrAuthorizer)}
	}
	return &Error{Status: http.StatusServiceUnavailable, Reason: fmt.Errorf("%w: no answer within %s (Config.AuthorizeTimeout)", ErrAuthorizer, timeout)}
}

// causeOf is what an authorizer's *Error stands for in a message: its
// Reason when err is the *Error itself (whose text would repeat the
// package name), else err with its own context.
func causeOf(err error, e *Error) error {
	if err == error(e) && e.Reason != nil {
		return e.Reason
	}
	if err == error(e) {
		return errors.New(http.StatusText(e.ResponseStatus()))
	}
	return err
}

// authzError turns an authorizer's answer into an *Error: its own status if
// it returned one (clamped to 400–599), otherwise 403. A nil *Error
// anywhere in the answer is a bug in the authorizer, answered as 500
// whatever else it holds: the intent (allow or refuse) cannot be known.
func authzError(err error) error {
	if err == nil {
		return nil
	}
	if holdsNilError(err) {
		return &Error{Status: http.StatusInternalServerError, Reason: fmt.Errorf("%w: authorizer returned a nil *httpauth.Error as its error; return nil to allow", ErrAuthorizer)}
	}
	var e *Error
	if errors.As(err, &e) {
		status := e.ResponseStatus()
		kind := ErrDenied
		if status >= 500 {
			kind = ErrAuthorizer
		}
		public := e.Public
		if public == "" {
			public = http.StatusText(status)
		}
		reason := err
		if !errors.Is(err, kind) { // helpers' errors are classified already
			reason = fmt.Errorf("%w: %w", kind, causeOf(err, e))
		}
		return &Error{Status: status, Reason: reason, Public: public}
	}
	return &Error{Status: http.StatusForbidden, Reason: fmt.Errorf("%w: %w", ErrDenied, err)}
}
