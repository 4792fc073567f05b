package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The codes are a public contract: dashboards and alerts select on them.
// This list may only grow; changing or removing a line breaks users.
var goldenCodes = []string{
	"no_certificate", "header_missing", "untrusted_proxy", "remote_addr_malformed",
	"not_verified", "unknown_authority", "expired", "not_yet_valid", "client_auth_usage",
	"chain_too_long", "unsupported_key", "ambiguous_chain", "leaf_is_ca", "leaf_key_usage",
	"revoked", "revocation_unknown", "no_roots", "header_malformed", "verify_header",
	"denied", "authorizer_failed",
	"internal", "other",
}

func TestReasonCodesStable(t *testing.T) {
	t.Parallel()
	var got []string
	shape := regexp.MustCompile(`^[a-z][a-z_]*[a-z]$`)
	for _, rc := range httpauth.ReasonCodes() {
		got = append(got, rc.Code)
		assert.Regexp(t, shape, rc.Code, "a label value Prometheus and OTel take as is")
		if rc.Reason == nil {
			continue
		}
		e := &httpauth.Error{Status: http.StatusUnauthorized, Reason: fmt.Errorf("%w: details", rc.Reason)}
		assert.Equal(t, rc.Code, e.Code(), "an *Error wrapping %v", rc.Reason)
	}
	assert.Equal(t, goldenCodes, got)
}

// The most specific reason decides; errors without a library reason get
// internal or other by status.
func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *httpauth.Error
		want string
	}{
		{"refined reason", &httpauth.Error{Status: 401, Reason: fmt.Errorf("%w: at 12:00", httpauth.ErrExpired)}, "expired"},
		{"kind of untrusted proxy", &httpauth.Error{Status: 401, Reason: httpauth.ErrRemoteAddrMalformed}, "remote_addr_malformed"},
		{"authorizer's own 403", &httpauth.Error{Status: 403, Reason: errors.New("not on the list")}, "other"},
		{"no reason, 500", &httpauth.Error{Status: 500}, "internal"},
		{"status out of range answers 500", &httpauth.Error{Status: 200}, "internal"},
		{"nil", nil, "internal"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Code(), tt.name)
	}
}

// Every refusal Authenticate returns carries a library reason, so its
// code is never internal or other: a denial by a plain authorizer error
// is "denied".
func TestAuthenticateRefusalsHaveCodes(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(_ context.Context, id *httpauth.Identity) error {
		return errors.New("not on the list")
	}})
	for name, r := range map[string]*http.Request{
		"no certificate": tlsRequest(nil),
		"unknown CA":     tlsRequest(pki.Stranger),
		"denied":         tlsRequest(pki.Alice),
	} {
		_, err := a.Authenticate(r)
		var e *httpauth.Error
		require.ErrorAs(t, err, &e, name)
		assert.NotContains(t, []string{"internal", "other"}, e.Code(), name)
	}
}

// The README's table of codes is the one users copy into dashboards: it
// lists exactly the codes ReasonCodes returns, in its order.
func TestReadmeListsEveryReasonCode(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, "| Code | Reason")
	require.GreaterOrEqual(t, start, 0, "the README's table of codes")
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")
	var listed []string
	for _, m := range row.FindAllStringSubmatch(section[start:], -1) {
		listed = append(listed, m[1])
		if m[1] == httpauth.CodeOther {
			break
		}
	}
	var want []string
	for _, rc := range httpauth.ReasonCodes() {
		want = append(want, rc.Code)
	}
	assert.Equal(t, want, listed)
}
