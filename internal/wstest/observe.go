package wstest

import (
	"context"
	"net/http"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusal is what an Observer was told of one refusal.
type refusal struct {
	path, code string
	status     int
	cn         string // of the refused identity; empty without one
}

// ObserverSeesRawRefusal checks that refusals written raw on the hijacked
// connection, which access-log and tracing middleware never see, reach
// the Authenticator's observers with their code and status, through the
// package's Handler and its gated upgrade; and that an accepted client is
// reported as accepted.
func ObserverSeesRawRefusal[C, O any](t *testing.T, ad Adapter[C, O]) {
	for _, path := range ad.servePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			set := testpki.MustSet(t)
			refused := make(chan refusal, 2)
			accepted := make(chan string, 1)
			a, err := httpauth.New(httpauth.Config{
				Roots:     set.Root.Pool(),
				Authorize: httpauth.AllowCN("alice"),
				Observers: []httpauth.Observer{{
					Refused: func(r *http.Request, id *httpauth.Identity, e *httpauth.Error) {
						got := refusal{path: r.URL.Path, code: e.Code(), status: e.ResponseStatus()}
						if id != nil {
							got.cn, _ = id.CommonName()
						}
						refused <- got
					},
					Accepted: func(_ *http.Request, id *httpauth.Identity) {
						cn, _ := id.CommonName()
						accepted <- cn
					},
				}},
			})
			require.NoError(t, err)
			srv := NewTLSServer(t, set, path.handler(a, func(_ context.Context, conn C, _ *httpauth.Identity) { _ = ad.Close(conn) }), false)

			assert.Equal(t, Refusal(403, "access denied"), RawRefusal(t, srv, set, set.Bob))
			assert.Equal(t, refusal{path: "/ws", code: "denied", status: 403, cn: "bob"}, Receive(t, refused))
			assert.Equal(t, Refusal(401, "client certificate signed by unknown authority"), RawRefusal(t, srv, set, set.Stranger))
			assert.Equal(t, refusal{path: "/ws", code: "unknown_authority", status: 401}, Receive(t, refused))

			_, _, err = ad.DialAs(t, srv, set, set.Alice, nil)
			require.NoError(t, err)
			assert.Equal(t, "alice", Receive(t, accepted))
		})
	}
}
