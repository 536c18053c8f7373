package store

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Failure holds the first error that made a backend fail closed (see
// ErrUnavailable): backends share it so that every one of them answers the
// same way after a failure, and tells the server once.
type Failure struct {
	once sync.Once
	err  atomic.Pointer[error]
}

// Set records err unless a failure was recorded before, and then calls
// onFail (when not nil) with it on a goroutine of its own. It reports
// whether err was the first failure.
func (f *Failure) Set(err error, onFail func(error)) (first bool) {
	f.once.Do(func() {
		first = true
		f.err.Store(&err)
		if onFail != nil {
			go onFail(err)
		}
	})
	return first
}

// Failed reports whether a failure was recorded.
func (f *Failure) Failed() bool { return f.err.Load() != nil }

// Err is what a backend's calls return: the failure wrapped in
// ErrUnavailable; else, once closed, ErrClosed; else nil.
func (f *Failure) Err(closed bool) error {
	if p := f.err.Load(); p != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, *p)
	}
	if closed {
		return ErrClosed
	}
	return nil
}
