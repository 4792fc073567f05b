package httpauth

import "sync"

// Notifier is implemented by sources whose data changes at run time
// ([FileRoots], [CRLFiles], [DenyListFile], [OCSP],
// [CRLDistributionPoints]). Changed returns a channel
// that is closed when the data in force next changes, found when the
// source is next consulted, so a holder of live connections can check
// them again ([Authenticator.Recheck]) instead of polling blindly.
type Notifier interface {
	Changed() <-chan struct{}
}

// signal is a broadcast of "something changed": wait returns a channel
// that the next fire closes. The zero value is ready to use.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
