package httpauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
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
// Call release when the connection is done, at the latest; it returns once
// no goroutine started for the connection runs any more. Re-checks run,
// for every connection a holds, when the roots in force change, when a
// [Notifier] among the roots and revocation checkers signals a change, and
// every [Config.RecheckInterval]; while connections are held, a's file
// sources are consulted every 250 ms so their changes are found without
// requests. With [Config.RecheckAuthorizer], a re-check also runs the
// authorizer again, with r (its context replaced); r may be nil, which
// skips that.
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
	seq    uint64    // order of addition to the liveSet

	mu    sync.Mutex
	state connState
	wg    sync.WaitGroup // the goroutines started for the connection
}

type connState uint8

const (
	connLive connState = iota
	connEnding
	connReleased
)

// begin moves c from live to ending and reports whether it did. async
// counts the goroutine the caller is about to start for it, under the
// lock, so that release cannot miss it.
func (c *liveConn) begin(async bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != connLive {
		return false
	}
	c.state = connEnding
	if async {
		c.wg.Add(1)
	}
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
	if c.end != nil && c.ctx.Err() == nil {
		// The end function runs before ctx ends, so the close frame goes
		// out while the connection still works (coder/websocket drops a
		// connection without one as soon as a pending Read's context
		// ends), but a peer that does not read cannot hold ctx open.
		done := make(chan struct{})
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer close(done)
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

// liveSet is an Authenticator's registry of held connections. A watcher
// goroutine runs while it is not empty; what it knows of the trust in
// force outlives it in watch, so a change made while no connection was
// held, or while the last one was being admitted, is still seen as one.
type liveSet struct {
	mu    sync.Mutex
	conns map[*liveConn]struct{}
	seq   uint64             // of the last connection added
	stop  context.CancelFunc // ends the watcher; nil while none runs
	done  chan struct{}      // closed when the last watcher has saved watch

	watch watchMemory // read by a watcher when it starts, saved when it ends
}

func (s *liveSet) add(a *Authenticator, c *liveConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[*liveConn]struct{})
	}
	s.seq++
	c.seq = s.seq
	s.conns[c] = struct{}{}
	if s.stop == nil {
		var ctx context.Context
		ctx, s.stop = context.WithCancel(context.Background())
		prev := s.done
		s.done = make(chan struct{})
		go a.watchLive(ctx, prev, s.done)
	}
}

func (s *liveSet) remove(c *liveConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// since returns the connections held now that were added after the one
// numbered seq (all for 0), and the number of the last one added.
func (s *liveSet) since(seq uint64) ([]*liveConn, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*liveConn
	if seq == 0 {
		out = make([]*liveConn, 0, len(s.conns))
	}
	for c := range s.conns {
		if c.seq > seq {
			out = append(out, c)
		}
	}
	return out, s.seq
}
