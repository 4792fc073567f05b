package httpauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// The network checkers, [OCSP] and [CRLDistributionPoints], fetch the same
// way. Each fetch has a size cap and a timeout of its own and runs
// detached from the request that started it, so a client hanging up does
// not waste the fetch for the requests waiting on it. At most one fetch is
// in flight per key. What it brings is cached until it must be asked
// again, and a failure for RetryAfter, so an outage costs one fetch per
// RetryAfter rather than one per request. A request waits for a fetch only
// when it has no usable answer; an answer due for a refresh is refetched
// in the background while requests go on using it.

// fetchSettings are a network checker's configuration, defaults applied.
type fetchSettings struct {
	client  *http.Client
	timeout time.Duration
	maxSize int64
	maxAge  time.Duration
	retry   time.Duration
	size    int
	now     func() time.Time
}

// withDefaults checks the fields the checker configs share and fills in
// the defaults; name (the config type) prefixes the field names in errors.
func (s fetchSettings) withDefaults(name string, defaultMaxSize int64, defaultSize int) (fetchSettings, error) {
	var errs []error
	for _, f := range []struct {
		field string
		v     int64
	}{{"Timeout", int64(s.timeout)}, {"MaxSize", s.maxSize}, {"MaxAge", int64(s.maxAge)}, {"RetryAfter", int64(s.retry)}, {"CacheSize", int64(s.size)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("httpauth: %s.%s is negative: set zero for the default or a positive value", name, f.field))
		}
	}
	if len(errs) > 0 {
		return fetchSettings{}, errors.Join(errs...)
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.timeout == 0 {
		s.timeout = defaultFetchTimeout
	}
	if s.maxSize == 0 {
		s.maxSize = defaultMaxSize
	}
	if s.maxAge == 0 {
		s.maxAge = defaultFetchMaxAge
	}
	if s.retry == 0 {
		s.retry = defaultFetchRetry
	}
	if s.size == 0 {
		s.size = defaultSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

const (
	defaultFetchTimeout = 3 * time.Second
	defaultFetchMaxAge  = time.Hour
	defaultFetchRetry   = 5 * time.Second
)

// fetchURL returns the first http or https URL of urls, "" when none is.
// Other schemes (ldap, file, …) are skipped: only HTTP is fetched.
func fetchURL(urls []string) string {
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return s
		}
	}
	return ""
}

// do sends one request and returns the body of a 200 answer, refusing a
// body over the size cap before reading past it.
func (s *fetchSettings) do(ctx context.Context, method, target, contentType string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP status %d", method, target, resp.StatusCode)
	}
	if resp.ContentLength > s.maxSize {
		return nil, fmt.Errorf("%s %s: answer of %d bytes exceeds the cap of %d", method, target, resp.ContentLength, s.maxSize)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	if int64(len(data)) > s.maxSize {
		return nil, fmt.Errorf("%s %s: answer exceeds the cap of %d bytes", method, target, s.maxSize)
	}
	return data, nil
}

// nextFetch is when a value fetched at now and usable until expires is
// fetched again: when a quarter of its life is left, and at least every
// maxAge, but not sooner than retry unless it expires before.
func (s *fetchSettings) nextFetch(now, expires time.Time) time.Time {
	life := expires.Sub(now)
	d := min(life/4*3, s.maxAge)
	return now.Add(max(d, min(s.retry, life)))
}

// fetchFunc fetches and checks one value, and says until when it may be
// used.
type fetchFunc[V any] func(ctx context.Context) (val V, expires time.Time, err error)

// fetched is the cached state of one key. It is never changed once
// published; a fetch publishes a new one.
type fetched[V any] struct {
	val     V
	ok      bool      // val was fetched; it is usable until expires
	expires time.Time // val is not to be used from then on
	next    time.Time // no new fetch starts before then
	err     error     // why the last fetch failed, nil after a success
}

// usable reports whether e holds a value that may be used at now.
func (e *fetched[V]) usable(now time.Time) bool {
	return e != nil && e.ok && now.Before(e.expires)
}

// flight is one fetch in progress; res is set before done is closed.
type flight[V any] struct {
	done chan struct{}
	res  *fetched[V]
}

// fetchCache holds the fetched values of one checker, at most size of
// them, least recently used dropped first.
type fetchCache[V any] struct {
	s    fetchSettings
	same func(a, b V) bool // the answers mean the same

	mu       sync.Mutex
	entries  *simplelru.LRU[string, *fetched[V]]
	inflight map[string]*flight[V]

	wg      sync.WaitGroup // fetches running
	changed signal         // fired when a fetch stores an answer unlike the last
}

func newFetchCache[V any](s fetchSettings, same func(a, b V) bool) *fetchCache[V] {
	entries, _ := simplelru.NewLRU[string, *fetched[V]](s.size, nil) // errors only on size <= 0
	return &fetchCache[V]{s: s, same: same, entries: entries, inflight: map[string]*flight[V]{}}
}

// lookup returns key's entry, and the fetch to wait for when that entry
// is not usable and may be fetched again (the failure of a fetch less
// than RetryAfter ago is returned as it is). A usable entry due for a
// refresh starts a fetch in the background and is returned without one.
func (c *fetchCache[V]) lookup(ctx context.Context, key string, fetch fetchFunc[V]) (*fetched[V], *flight[V]) {
	now := c.s.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.entries.Get(key)
	if e != nil && now.Before(e.next) {
		return e, nil
	}
	fl := c.startLocked(ctx, key, fetch)
	if e.usable(now) {
		return e, nil
	}
	return e, fl
}

// wait returns what fl fetched, or when ctx ends first, old with why
// there is nothing newer.
func (c *fetchCache[V]) wait(ctx context.Context, old *fetched[V], fl *flight[V]) *fetched[V] {
	if fl == nil {
		return old
	}
	select {
	case <-fl.done:
		return fl.res
	case <-ctx.Done():
		e := &fetched[V]{err: fmt.Errorf("gave up waiting for the fetch: %w", context.Cause(ctx))}
		if old != nil {
			e.val, e.ok, e.expires = old.val, old.ok, old.expires
		}
		return e
	}
}

// startLocked joins the fetch of key in flight or starts one. The fetch
// keeps ctx's values but not its cancellation: it is bounded by the
// timeout alone.
func (c *fetchCache[V]) startLocked(ctx context.Context, key string, fetch fetchFunc[V]) *flight[V] {
	if fl, ok := c.inflight[key]; ok {
		return fl
	}
	fl := &flight[V]{done: make(chan struct{})}
	c.inflight[key] = fl
	c.wg.Add(1)
	go c.run(context.WithoutCancel(ctx), key, fetch, fl)
	return fl
}

func (c *fetchCache[V]) run(ctx context.Context, key string, fetch fetchFunc[V], fl *flight[V]) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	val, expires, err := fetch(ctx)
	cancel()
	now := c.s.now()
	if err == nil && !now.Before(expires) {
		err = fmt.Errorf("the answer expired at %s, before it could be used", stamp(expires))
	}

	c.mu.Lock()
	e := &fetched[V]{val: val, ok: true, expires: expires, next: c.s.nextFetch(now, expires)}
	old, _ := c.entries.Peek(key)
	// A refresh that brings the same answer changes nothing for the
	// connections checked against the last one: only a new answer, or
	// one after none or a failure, is signalled.
	changed := err == nil && (old == nil || !old.ok || old.err != nil || !c.same(old.val, val))
	if err != nil {
		// Keep the last good value: it stays usable until it expires.
		e = &fetched[V]{err: err, next: now.Add(c.s.retry)}
		if old != nil {
			e.val, e.ok, e.expires = old.val, old.ok, old.expires
		}
	}
	c.entries.Add(key, e)
	delete(c.inflight, key)
	fl.res = e
	c.mu.Unlock()
	if changed {
		c.changed.fire() // before done: whoever waited sees the signal
	}
	close(fl.done)
}

// idle waits until no fetch runs, for tests and shutdown.
func (c *fetchCache[V]) idle() { c.wg.Wait() }

// describe says why e holds no usable value, for an answer's detail.
func (e *fetched[V]) describe(now time.Time) string {
	switch {
	case e == nil:
		return "not fetched"
	case e.ok && !now.Before(e.expires) && e.err != nil:
		return fmt.Sprintf("the last answer expired at %s and the fetch since failed: %s", stamp(e.expires), trimPkg(e.err))
	case e.ok && !now.Before(e.expires):
		return fmt.Sprintf("the last answer expired at %s", stamp(e.expires))
	case e.err != nil:
		return trimPkg(e.err)
	default:
		return "no answer"
	}
}

func trimPkg(err error) string { return strings.TrimPrefix(err.Error(), "httpauth: ") }
