package httpauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
)

func TestCombinatorsShortCircuitAndHonourContext(t *testing.T) {
	pki := testpki.MustSet(t)
	id := identityOf(pki.Alice)
	var calls []string
	rec := func(name string, err error) httpauth.Authorizer {
		return func(context.Context, *httpauth.Identity) error {
			calls = append(calls, name)
			return err
		}
	}
	deny := errors.New("no")

	calls = nil
	assert.ErrorIs(t, httpauth.AllOf(rec("a", nil), rec("b", deny), rec("c", nil))(t.Context(), id), deny)
	assert.Equal(t, []string{"a", "b"}, calls)

	calls = nil
	assert.NoError(t, httpauth.AnyOf(rec("a", deny), rec("b", nil), rec("c", nil))(t.Context(), id))
	assert.Equal(t, []string{"a", "b"}, calls)

	calls = nil
	other := errors.New("other")
	err := httpauth.AnyOf(rec("a", deny), rec("b", other))(t.Context(), id)
	assert.ErrorIs(t, err, deny)
	assert.ErrorIs(t, err, other)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls = nil
	assert.ErrorIs(t, httpauth.AllOf(rec("a", nil))(ctx, id), context.Canceled)
	assert.ErrorIs(t, httpauth.AnyOf(rec("a", nil))(ctx, id), context.Canceled)
	assert.Empty(t, calls)
}
