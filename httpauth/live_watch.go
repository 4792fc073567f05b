package httpauth

import (
	"context"
	"crypto/x509"
	"sync"
	"sync/atomic"
	"time"
)

// recheckWorkers bounds the re-checks that run at once. Most are a few
// map lookups; some (OCSP, a distribution point) wait on the network, and
// one slow responder must not hold up the rest.
const recheckWorkers = 8

// refresher is a source that finds its changes only when consulted: the
// file sources. The watcher consults them so that a change reaches live
// connections without waiting for a request.
type refresher interface{ refresh() }

// watchLive runs while a holds connections, until ctx ends: it notices
// changes of trust and re-checks every held connection after each. It
// starts from what the watcher before it knew (waiting for it to save
// that: prev), so no change is taken for the starting point, and saves
// what it knows when it ends (closing done).
//
// A connection admitted under the old trust but held only after a round
// began is not in that round: its Authenticate may have run up to an
// authorizer's timeout before its Hold. So for that long after a change,
// each tick also re-checks the connections held since the last look.
func (a *Authenticator) watchLive(ctx context.Context, prev <-chan struct{}, done chan<- struct{}) {
	if prev != nil {
		<-prev
	}
	a.live.mu.Lock()
	m := a.live.watch
	a.live.mu.Unlock()
	defer func() {
		a.live.mu.Lock()
		a.live.watch = m
		a.live.mu.Unlock()
		close(done)
	}()

	tick := time.NewTicker(livePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if m.trust.changed(a, now) {
			// Taken before the re-checks, so a change during them is not
			// missed but triggers another round.
			m.trust = a.trustState(now)
			var conns []*liveConn
			conns, m.seen = a.live.since(0)
			a.recheckLive(ctx, conns, m.trust.roots)
			m.lateUntil = now.Add(a.timeout + 2*livePoll)
			continue
		}
		if now.Before(m.lateUntil) {
			var late []*liveConn
			late, m.seen = a.live.since(m.seen)
			a.recheckLive(ctx, late, m.trust.roots)
		}
	}
}

// watchMemory is what the watcher knows, kept between watchers.
type watchMemory struct {
	trust     trustState // in force at the last round (or at New)
	seen      uint64     // connections held up to this one were re-checked
	lateUntil time.Time  // re-check late arrivals until then
}

// trustState is what the watcher compares to notice a change.
type trustState struct {
	roots *x509.CertPool
	waits []<-chan struct{}
	due   time.Time // of the periodic re-check; zero: none
}

func (a *Authenticator) trustState(now time.Time) trustState {
	s := trustState{roots: a.currentRoots()}
	if n, ok := a.roots.(Notifier); ok {
		s.waits = append(s.waits, n.Changed())
	}
	for _, c := range a.revocation {
		if n, ok := unwrapChecker(c).(Notifier); ok {
			s.waits = append(s.waits, n.Changed())
		}
	}
	if a.recheckEvery > 0 {
		s.due = now.Add(a.recheckEvery)
	}
	return s
}

func (s *trustState) changed(a *Authenticator, now time.Time) bool {
	for _, c := range a.revocation {
		if r, ok := unwrapChecker(c).(refresher); ok {
			r.refresh()
		}
	}
	// Consulting the roots reloads a FileRoots whose interval has passed;
	// a provider without Changed is seen to change by its pool.
	if a.currentRoots() != s.roots {
		return true
	}
	if !s.due.IsZero() && !now.Before(s.due) {
		return true
	}
	for _, ch := range s.waits {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// unwrapChecker returns the checker inside FailOpen.
func unwrapChecker(c RevocationChecker) RevocationChecker {
	if f, ok := c.(failOpen); ok {
		return f.RevocationChecker
	}
	return c
}

// recheckLive re-checks conns against roots and withdraws those that no
// longer pass.
func (a *Authenticator) recheckLive(ctx context.Context, conns []*liveConn, roots *x509.CertPool) {
	if len(conns) == 0 {
		return
	}
	memo := &anchorMemo{roots: roots}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(recheckWorkers, len(conns)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				c := conns[i]
				err := a.recheck(ctx, c.id, c.r, memo)
				if err != nil && ctx.Err() == nil && c.begin(true) {
					go c.withdraw(asError(err))
				}
			}
		})
	}
	wg.Wait()
}

// anchorMemo remembers, for one round of re-checks, whether each root of
// the verified chains is still trusted: thousands of connections share a
// handful of roots.
type anchorMemo struct {
	roots *x509.CertPool
	mu    sync.Mutex
	seen  map[string]error // by the root's DER
}

func (m *anchorMemo) get(c *x509.Certificate) (error, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	err, ok := m.seen[string(c.Raw)]
	return err, ok
}

func (m *anchorMemo) put(c *x509.Certificate, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = make(map[string]error)
	}
	m.seen[string(c.Raw)] = err
}
