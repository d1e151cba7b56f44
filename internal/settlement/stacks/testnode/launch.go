package testnode

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// Launch starts a node outside a test (cmd/stxgate-bench): what would fail or
// skip a test is an error, and stop ends the node. Calls on the returned Node
// that fail panic with a *Failure; Catch turns that back into an error.
func Launch(opts Options) (n *Node, stop func(), err error) {
	r := &runner{}
	err = Catch(func() { n = Start(r, opts) })
	if err != nil {
		r.stop()
		return nil, func() {}, err
	}
	return n, r.stop, nil
}

// Failure is what a launched node's failing call panics with.
type Failure struct{ Msg string }

func (f *Failure) Error() string { return "testnode: " + f.Msg }

// Catch runs f and returns the *Failure a launched node's call panicked
// with as an error; other panics go on.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var fail *Failure
			if e, ok := r.(error); ok && errors.As(e, &fail) {
				err = fail
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// runner is the TB of a launched node.
type runner struct {
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

func (r *runner) Helper() {}

func (r *runner) Fatal(args ...any) { r.fail(fmt.Sprint(args...)) }

func (r *runner) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

// Skipf: a node that cannot start (no node, no npm packages) is an error here.
func (r *runner) Skipf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

func (r *runner) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "testnode: "+format+"\n", args...)
}

func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *runner) fail(msg string) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	panic(&Failure{Msg: msg})
}

// stop runs the cleanups, last first (the node's: SIGINT, then SIGKILL).
func (r *runner) stop() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}
