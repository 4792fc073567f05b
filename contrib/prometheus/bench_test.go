package certgateprom_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/contrib/prometheus"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkObserver is Authenticate on the cached TLS path (the library
// verifies a presented chain once, then finds it in its cache) with no
// observer, with one whose functions do nothing, and with the Prometheus
// observer, accepting and refusing: the cost of the hook and of the
// metrics, as ratios within one run (benchstat).
func BenchmarkObserver(b *testing.B) {
	set := testpki.MustSet(b)
	noop := httpauth.Observer{
		Accepted: func(*http.Request, *httpauth.Identity) {},
		Refused:  func(*http.Request, *httpauth.Identity, *httpauth.Error) {},
		Held:     func(*httpauth.Identity) {},
		Ended:    func(httpauth.ConnEnd) {},
	}
	m := certgateprom.New()
	prometheus.NewRegistry().MustRegister(m)
	observers := []struct {
		name string
		obs  []httpauth.Observer
	}{
		{"none", nil},
		{"noop", []httpauth.Observer{noop}},
		{"prometheus", []httpauth.Observer{m.Observer()}},
	}
	for _, path := range []struct {
		name string
		leaf *testpki.Leaf
		ok   bool
	}{{"accept", set.Alice, true}, {"refuse", set.Bob, false}} {
		for _, o := range observers {
			b.Run(path.name+"/"+o.name, func(b *testing.B) {
				a, err := httpauth.New(httpauth.Config{
					Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Observers: o.obs,
				})
				require.NoError(b, err)
				r := tlsRequest(path.leaf)
				_, err = a.Authenticate(r) // fills the cache
				require.Equal(b, path.ok, err == nil)
				b.ReportAllocs()
				for b.Loop() {
					_, _ = a.Authenticate(r)
				}
			})
		}
	}
}
