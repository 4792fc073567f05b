package certgateprom_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/certgate/certgate/contrib/prometheus"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// New's Metrics counts the decisions of an Authenticator that allows only
// alice: bob's valid certificate is refused with 403, a client without a
// certificate with 401, and both refusals are counted by code.
func ExampleNew() {
	set, err := testpki.NewSet()
	if err != nil {
		fmt.Println(err)
		return
	}

	m := certgateprom.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	a, err := httpauth.New(httpauth.Config{
		Roots:     set.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Observers: []httpauth.Observer{m.Observer()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	mux.Handle("/", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "hello")
	})))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{set.Server.TLSCertificate()},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    set.Root.Pool(),
	}
	srv.StartTLS()
	defer srv.Close()

	for _, leaf := range []*testpki.Leaf{set.Alice, set.Bob, nil} {
		client := clientAs(set, leaf)
		resp, err := client.Get(srv.URL + "/")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		fmt.Println(resp.Status)
	}

	scraper := clientAs(set, nil)
	defer scraper.CloseIdleConnections()
	resp, err := scraper.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "certgate_requests_") {
			fmt.Println(lines.Text())
		}
	}
	// Output:
	// 200 OK
	// 403 Forbidden
	// 401 Unauthorized
	// certgate_requests_accepted_total{source="tls"} 1
	// certgate_requests_refused_total{code="denied",source="tls",status="403"} 1
	// certgate_requests_refused_total{code="no_certificate",source="tls",status="401"} 1
}

// clientAs is an HTTPS client trusting set's root that presents leaf.
func clientAs(set *testpki.Set, leaf *testpki.Leaf) *http.Client {
	cfg := &tls.Config{RootCAs: set.Root.Pool()}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}
