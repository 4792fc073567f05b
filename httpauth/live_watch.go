package httpauth

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
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

// watchLive runs while a holds connections: it notices changes of trust
// and re-checks every held connection after each, and re-checks each
// stale connection (admitted before the last change) once held. It starts
// from what the watcher before it knew, and leaves what it knows to the
// next when it stops, which it decides under the set's lock.
func (a *Authenticator) watchLive() {
	s := &a.live
	s.mu.Lock()
	trust := s.trust
	s.mu.Unlock()
	tick := time.NewTicker(livePoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-s.wake:
		}
		if s.stopWatching(trust) {
			return
		}
		now := time.Now()
		if trust.changed(a, now) {
			// Taken before the snapshot, so a change during the round is
			// not missed but triggers another.
			trust = a.trustState(now)
			a.recheckLive(s.newRound(), trust.roots)
			continue
		}
		if stale := s.takeStale(); len(stale) > 0 {
			a.recheckLive(stale, trust.roots)
		}
	}
}

// stopWatching ends the watcher when no connection is held, leaving the
// trust it knows to the next.
func (s *liveSet) stopWatching(trust trustState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) > 0 {
		return false
	}
	s.running, s.trust, s.stale = false, trust, nil
	return true
}

// newRound counts a change of trust and returns every held connection:
// all are re-checked, the stale ones with them.
func (s *liveSet) newRound() []*liveConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen.Add(1)
	s.stale = nil
	out := make([]*liveConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *liveSet) takeStale() []*liveConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stale
	s.stale = nil
	return out
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
	// a provider without Changed is seen to change by its pool. One that
	// builds an equal pool on every call changes nothing.
	if roots := a.currentRoots(); roots != s.roots {
		if roots == nil || s.roots == nil || !roots.Equal(s.roots) {
			return true
		}
		s.roots = roots
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
func (a *Authenticator) recheckLive(conns []*liveConn, roots *x509.CertPool) {
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
				if i >= len(conns) {
					return
				}
				c := conns[i]
				if !c.enter() {
					continue // released or ending meanwhile
				}
				if err := a.recheckHeld(c, memo); err != nil && c.begin(true) {
					go c.withdraw(err)
				}
				c.wg.Done()
			}
		})
	}
	wg.Wait()
}

// recheckHeld re-checks one held connection with its own deadline. A
// checker or authorizer that panics fails the connection closed, as
// Authenticate would fail its request, instead of ending the process.
func (a *Authenticator) recheckHeld(c *liveConn, memo *anchorMemo) (e *Error) {
	defer func() {
		if p := recover(); p != nil {
			e = &Error{Status: http.StatusInternalServerError, Reason: fmt.Errorf("httpauth: re-checking a held connection panicked: %v", p)}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	if err := a.recheck(ctx, c.id, c.r, memo); err != nil {
		return asError(err)
	}
	return nil
}

// anchorMemo remembers, for one round of re-checks, whether each root of
// the verified chains is still in the pool: thousands of connections share
// a handful of roots.
type anchorMemo struct {
	roots *x509.CertPool
	mu    sync.Mutex
	seen  map[string]bool // by the root's DER: still in the pool
}

func (m *anchorMemo) get(c *x509.Certificate) (bool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.seen[string(c.Raw)]
	return s, ok
}

func (m *anchorMemo) put(c *x509.Certificate, s bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = make(map[string]bool)
	}
	m.seen[string(c.Raw)] = s
}
