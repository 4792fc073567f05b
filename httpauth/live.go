package httpauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRecheckInterval is how often live connections are checked again
// when nothing has signalled a change ([Config.RecheckInterval]): it bounds
// how long a revocation that no [Notifier] reports (an OCSP answer, a
// distribution point's CRL) takes to reach a live connection.
const DefaultRecheckInterval = 10 * time.Minute

// livePoll is how often, while connections are live, the trust sources are
// consulted for changes. A source still reads its file at most once per
// its own interval; this bounds the lag after that interval ends.
const livePoll = 250 * time.Millisecond

// endWait bounds how long a withdrawal waits for the end function (a close
// frame) before the connection's context ends anyway.
const endWait = 500 * time.Millisecond

// Hold ties a live connection to the trust that admitted it, for as long as
// it stays open: the returned context ends, with the reason as its cause
// (context.Cause), when
//   - the certificate's validity ends (at id.NotAfter by a's clock; the
//     cause wraps [ErrExpired]);
//   - a re-check refuses id (an *[Error] wrapping, for instance,
//     [ErrRevoked] when a CRL or deny-list revokes it, or
//     [ErrUnknownAuthority] when its CA is no longer among the roots);
//   - parent ends, or release is called.
//
// id is what a's Authenticate returned for r. end, if not nil, is called
// once, from its own goroutine, just before the context ends for one of the
// first two reasons: it should tell the peer why (a WebSocket close frame
// with code 1008) and close the connection. The context ends when end
// returns or half a second after it was called, whichever is first.
//
// end must not call release, nor wait for the code that does: release
// returns only once no goroutine started for the connection runs any
// more, end and a re-check of the connection included. A panic in end is
// recovered and logged, and the context still ends. Call release when the
// connection is done, at the latest.
//
// Re-checks run,
// for every connection a holds, when the roots in force change, when a
// [Notifier] among the roots and revocation checkers signals a change, and
// every [Config.RecheckInterval]; while connections are held, a's file
// sources are consulted every 250 ms so their changes are found without
// requests. With [Config.RecheckAuthorizer], a re-check also runs the
// authorizer again, with r (with its context's values, not its
// cancellation); r may be nil, which skips that. A connection whose
// identity was checked before the last change of trust (its admission was
// slow) or by another Authenticator is re-checked once held. A
// [RootsProvider] signals new roots by a new pool; one equal to the last
// is no change.
//
// The WebSocket adapters' Handlers call Hold for every connection they
// serve; code that upgrades with certgate.Upgrade, gorilla's Upgrader or
// Accept calls it itself.
func (a *Authenticator) Hold(parent context.Context, r *http.Request, id *Identity, end func(cause error)) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(parent)
	if id == nil || id.Certificate == nil {
		// Nothing admitted the connection: it must not run on.
		cancel(&Error{Status: http.StatusInternalServerError, Reason: errors.New("httpauth: Hold needs the identity that Authenticate returned")})
		return ctx, func() {}
	}
	c := &liveConn{a: a, id: id, r: r, end: end, ctx: ctx, cancel: cancel, start: time.Now()}
	a.observeHeld(id)
	a.live.add(a, c)
	c.wg.Add(1) // the expiry timer's
	c.timer = time.AfterFunc(id.NotAfter.Sub(a.now()), c.expire)
	return ctx, c.release
}

// A liveConn is one held connection. Its state moves once, from live to
// ending (a withdrawal runs) or to released (its holder let go).
type liveConn struct {
	a      *Authenticator
	id     *Identity
	r      *http.Request
	end    func(error)
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	start  time.Time // for ConnEnd.Duration

	mu    sync.Mutex
	state connState
	wg    sync.WaitGroup // the goroutines started for the connection, and its re-checks
}

type connState uint8

const (
	connLive connState = iota
	connEnding
	connReleased
)

// begin moves c from live to ending and reports whether it did. async
// counts the goroutine the caller is about to start for it, under the
// lock, so that release cannot miss it. A connection whose parent context
// ended is no longer withdrawn: its holder is winding it down, and its end
// is reported as canceled.
func (c *liveConn) begin(async bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != connLive || c.ctx.Err() != nil {
		return false
	}
	c.state = connEnding
	if async {
		c.wg.Add(1)
	}
	return true
}

// enter counts a re-check of c in wg, so that release waits for it (it
// may run the authorizer with c's request); false when c is not live.
func (c *liveConn) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != connLive || c.ctx.Err() != nil {
		return false
	}
	c.wg.Add(1)
	return true
}

// expire runs on the timer's goroutine, counted at Hold.
func (c *liveConn) expire() {
	if !c.begin(false) {
		c.wg.Done()
		return
	}
	c.withdraw(unauthorized(fmt.Errorf("%w: certificate %s reached the end of its validity (%s) while connected", ErrExpired, shortFP(c.id.Certificate), stamp(c.id.NotAfter))))
}

// withdraw ends a connection that begin moved to ending, on a goroutine
// counted in wg.
func (c *liveConn) withdraw(cause *Error) {
	defer c.wg.Done()
	c.a.live.remove(c)
	if c.end != nil {
		// The end function runs before ctx ends, so the close frame goes
		// out while the connection still works (coder/websocket drops a
		// connection without one as soon as a pending Read's context
		// ends), but a peer that does not read cannot hold ctx open.
		done := make(chan struct{})
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer close(done)
			defer func() {
				// On this goroutine nothing else would recover it, and a
				// panic would end the whole process.
				if p := recover(); p != nil && c.a.logger != nil {
					c.a.logger.LogAttrs(context.Background(), slog.LevelError, "httpauth: a held connection's end function panicked",
						slog.String("panic", fmt.Sprint(p)), slog.String("fingerprint", c.id.Fingerprint))
				}
			}()
			c.end(cause)
		}()
		t := time.NewTimer(endWait)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	c.cancel(cause)
	c.a.observeEnded(ConnEnd{Identity: c.id, Code: cause.Code(), Cause: cause, Duration: time.Since(c.start)})
}

func (c *liveConn) release() {
	c.mu.Lock()
	wasLive := c.state == connLive
	if wasLive {
		c.state = connReleased
	}
	c.mu.Unlock()
	if c.timer.Stop() {
		c.wg.Done()
	}
	if wasLive {
		c.a.live.remove(c)
	}
	c.wg.Wait()
	if wasLive {
		end := ConnEnd{Identity: c.id, Code: EndClosed, Duration: time.Since(c.start)}
		if c.ctx.Err() != nil { // only the parent ends a live connection's ctx
			end.Code, end.Cause = EndCanceled, context.Cause(c.ctx)
		}
		c.a.observeEnded(end)
	}
	c.cancel(context.Canceled)
}

// liveSet is an Authenticator's registry of held connections. One watcher
// goroutine runs while it is not empty (running); it decides to stop
// under mu, so add starts a new one only once it has, and what it knows
// of the trust in force (trust) passes from one to the next through mu.
// A change made while no connection was held is therefore still seen as
// one.
type liveSet struct {
	mu      sync.Mutex
	conns   map[*liveConn]struct{}
	running bool
	wake    chan struct{} // tells the watcher the set emptied, so it stops at once
	trust   trustState    // in force at the last round (or at New); only the running watcher uses it

	// gen counts the changes of trust the watchers found; it moves under
	// mu, together with the snapshot of a round. An identity checked
	// under an older count, or by another Authenticator, is stale when
	// held: it joins stale and is re-checked at the next tick.
	gen   atomic.Uint64
	stale []*liveConn
}

func (s *liveSet) add(a *Authenticator, c *liveConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[*liveConn]struct{})
		s.wake = make(chan struct{}, 1)
	}
	s.conns[c] = struct{}{}
	if c.id.checkedBy != a || c.id.checkedAt != s.gen.Load() {
		s.stale = append(s.stale, c)
	}
	if !s.running {
		s.running = true
		go a.watchLive()
	}
}

func (s *liveSet) remove(c *liveConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.running {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}
