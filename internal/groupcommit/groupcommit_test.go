package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gate is a flush that records its batches and, while held, blocks until
// released, so a test can queue calls behind a batch in flight.
type gate struct {
	mu      sync.Mutex
	batches [][]string
	entered chan struct{} // one send per flush
	release chan struct{} // one receive per flush while held
	held    bool
}

func newGate(held bool) *gate {
	return &gate{entered: make(chan struct{}, 100), release: make(chan struct{}), held: held}
}

func (g *gate) flush(_ context.Context, batch []string) ([]string, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(batch))
	held := g.held
	g.mu.Unlock()
	g.entered <- struct{}{}
	if held {
		<-g.release
	}
	out := make([]string, len(batch))
	for i, in := range batch {
		if strings.HasPrefix(in, "bad") {
			return nil, fmt.Errorf("refused %s", in)
		}
		out[i] = "done:" + in
	}
	return out, nil
}

func (g *gate) sizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n []int
	for _, b := range g.batches {
		n = append(n, len(b))
	}
	return n
}

// queued waits until b holds n queued calls.
func queued[In, Out any](t *testing.T, b *Batcher[In, Out], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		got := len(b.queue)
		b.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type answer struct {
	in, out string
	err     error
}

// run starts Do for each input and returns a function that collects the answers.
func run(b *Batcher[string, string], ctx context.Context, ins ...string) func() []answer {
	answers := make([]answer, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			out, err := b.Do(ctx, in)
			answers[i] = answer{in: in, out: out, err: err}
		})
	}
	return func() []answer { wg.Wait(); return answers }
}

// holdingFirst is a one-slot batcher whose first call ("first") is in flight,
// held at the gate; first waits for that call's answer.
func holdingFirst() (g *gate, b *Batcher[string, string], first func() []answer) {
	g = newGate(true)
	b = New(g.flush, Options[string]{InFlight: 1})
	first = run(b, context.Background(), "first")
	<-g.entered // "first" holds the only slot
	return g, b, first
}

func TestAloneGoesAtOnce(t *testing.T) {
	g := newGate(false)
	b := New(g.flush, Options[string]{})
	for i := range 3 {
		out, err := b.Do(context.Background(), fmt.Sprint(i))
		if err != nil || out != fmt.Sprintf("done:%d", i) {
			t.Fatalf("Do(%d) = %q, %v", i, out, err)
		}
	}
	if got := g.sizes(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Fatalf("batch sizes %v, want [1 1 1]: a lone call is never held back", got)
	}
	if s := b.Stats(); s != (Stats{Batches: 3, Inputs: 3}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestQueuedCallsShareTheNextBatch(t *testing.T) {
	tests := []struct {
		name     string
		opt      Options[string]
		ins      []string
		want     []int // batch sizes after the first (held) one
		wantOuts map[string]string
		wantErrs map[string]string
	}{
		{
			name: "AllQueuedGoTogether",
			ins:  []string{"a", "b", "c", "d", "e"},
			want: []int{5},
		},
		{
			name: "MaxBatchBoundsABatch",
			opt:  Options[string]{MaxBatch: 2},
			ins:  []string{"a", "b", "c", "d", "e"},
			want: []int{2, 2, 1},
		},
		{
			name: "SameKeyWaitsForTheNextBatch",
			opt:  Options[string]{Key: func(s string) string { return s[:1] }},
			ins:  []string{"x1", "x2", "y1", "x3", "y2"},
			want: []int{2, 2, 1},
		},
		{
			name:     "FailedBatchFailsEveryCallWithoutSplit",
			ins:      []string{"a", "bad1", "b"},
			want:     []int{3},
			wantErrs: map[string]string{"a": "refused bad1", "bad1": "refused bad1", "b": "refused bad1"},
		},
		{
			name:     "SplitRetriesAloneSoOnlyTheBadOneFails",
			opt:      Options[string]{Split: func(error) bool { return true }},
			ins:      []string{"a", "bad1", "b"},
			want:     []int{3, 1, 1, 1},
			wantErrs: map[string]string{"bad1": "refused bad1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(true)
			tc.opt.InFlight = 1
			b := New(g.flush, tc.opt)
			first := run(b, context.Background(), "first")
			<-g.entered // "first" is in flight; everything else queues behind it
			rest := run(b, context.Background(), tc.ins...)
			queued(t, b, len(tc.ins))
			close(g.release)
			answers := append(first(), rest()...)
			if got := g.sizes()[1:]; !slices.Equal(got, tc.want) {
				t.Errorf("batch sizes after the first %v, want %v (batches %q)", got, tc.want, g.batches)
			}
			for _, a := range answers {
				want := tc.wantErrs[a.in]
				switch {
				case want == "" && (a.err != nil || a.out != "done:"+a.in):
					t.Errorf("%s: got %q, %v; want done:%s", a.in, a.out, a.err, a.in)
				case want != "" && (a.err == nil || a.err.Error() != want):
					t.Errorf("%s: got %q, %v; want error %q", a.in, a.out, a.err, want)
				}
			}
		})
	}
}

// A call whose context ended while it waited for a batch is never written.
func TestCallCancelledBeforeItsBatchIsNotSent(t *testing.T) {
	g, b, first := holdingFirst()
	ctx, cancel := context.WithCancel(context.Background())
	gone := run(b, ctx, "gone")
	kept := run(b, context.Background(), "kept")
	queued(t, b, 2)
	cancel()
	if a := gone(); !errors.Is(a[0].err, context.Canceled) {
		t.Fatalf("cancelled call: %q, %v; want context.Canceled", a[0].out, a[0].err)
	}
	close(g.release)
	first()
	if a := kept(); a[0].err != nil {
		t.Fatal(a[0].err)
	}
	for _, batch := range g.batches {
		if slices.Contains(batch, "gone") {
			t.Fatalf("batches %q: the cancelled call was written", g.batches)
		}
	}
}

func TestWrongResultCountFailsTheBatch(t *testing.T) {
	b := New(func(_ context.Context, in []int) ([]int, error) { return nil, nil }, Options[int]{})
	if _, err := b.Do(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "different number of results") {
		t.Fatalf("got %v, want the result-count error", err)
	}
}

// Many goroutines at once: every call gets its own answer, and they were grouped.
func TestConcurrentCallsGetTheirOwnAnswers(t *testing.T) {
	var mu sync.Mutex
	flushes := 0
	flush := func(_ context.Context, batch []int) ([]int, error) {
		mu.Lock()
		flushes++
		mu.Unlock()
		time.Sleep(time.Millisecond) // a round trip
		out := make([]int, len(batch))
		for i, v := range batch {
			out[i] = v * 2
		}
		return out, nil
	}
	b := New(flush, Options[int]{})
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got, err := b.Do(context.Background(), i)
			if err != nil || got != 2*i {
				t.Errorf("Do(%d) = %d, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	s := b.Stats()
	if s.Inputs != n || s.Batches >= n/4 {
		t.Fatalf("stats %+v: want %d inputs in far fewer batches", s, n)
	}
	t.Logf("%d calls in %d batches", n, s.Batches)
}

// A call that flushes in its own goroutine keeps its request deadline (a
// partitioned database answers 503 in time) but not its cancellation (the
// batch may be other callers' too).
func TestLeaderFlushKeepsDeadlineNotCancellation(t *testing.T) {
	flushCtx := make(chan context.Context, 1)
	release := make(chan struct{})
	flush := func(ctx context.Context, batch []string) ([]string, error) {
		flushCtx <- ctx
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			return slices.Clone(batch), nil
		}
	}
	t.Run("DeadlineBoundsTheFlush", func(t *testing.T) {
		b := New(flush, Options[string]{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.Do(ctx, "x")
		fctx := <-flushCtx
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(fctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Do: %v, flush context: %v; want both past their deadline", err, fctx.Err())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("Do returned after %s: the flush outlived the caller's deadline", took)
		}
	})
	t.Run("CancellationDoesNotStopTheFlush", func(t *testing.T) {
		b := New(flush, Options[string]{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := b.Do(ctx, "x"); done <- err }()
		fctx := <-flushCtx
		cancel()
		time.Sleep(10 * time.Millisecond)
		if err := fctx.Err(); err != nil {
			t.Fatalf("flush context ended with the caller's cancellation: %v", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("Do: %v; want nil: the flush wrote the input, so the caller hears it did", err)
		}
		if s := b.Stats(); s.Inputs != 1 {
			t.Fatalf("stats %+v: the flush should have written its input", s)
		}
	})
}

// A caller whose input is in a batch in flight (run by another caller's
// goroutine) and whose context ends meanwhile gets the batch's outcome, not
// its cancellation: what it is told matches what was written.
func TestCancelledCallInFlightGetsTheBatchOutcome(t *testing.T) {
	g, b, first := holdingFirst()
	ctx, cancel := context.WithCancel(context.Background())
	ride := run(b, ctx, "ride", "ok")
	queued(t, b, 2)
	g.release <- struct{}{} // "first" done; the runner takes the queued two into one batch
	<-g.entered             // that batch is in flight
	cancel()
	close(g.release)
	first()
	for _, a := range ride() {
		if a.err != nil || a.out != "done:"+a.in {
			t.Errorf("%s: %q, %v; want done:%s (its batch committed)", a.in, a.out, a.err, a.in)
		}
	}
	if got := g.sizes(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("batch sizes %v, want [1 2]", got)
	}
}

// A queued call whose context ends returns at once, without waiting for the
// batch in flight, and is never written.
func TestCancelledQueuedCallReturnsAtOnce(t *testing.T) {
	g, b, first := holdingFirst()
	ctx, cancel := context.WithCancel(context.Background())
	gone := run(b, ctx, "gone")
	queued(t, b, 1)
	cancel()
	if a := gone(); !errors.Is(a[0].err, context.Canceled) { // returns while "first" is still held
		t.Fatalf("cancelled queued call: %q, %v; want context.Canceled", a[0].out, a[0].err)
	}
	queued(t, b, 0)
	close(g.release)
	first()
	if got := g.sizes(); !slices.Equal(got, []int{1}) {
		t.Fatalf("batch sizes %v, want [1]: the cancelled call was sent", got)
	}
}

// The flush's deadline is the sooner of Options.Timeout and the leading
// caller's own deadline.
func TestFlushDeadlineIsTheSoonerOfTimeoutAndCaller(t *testing.T) {
	var got time.Time
	flush := func(ctx context.Context, batch []string) ([]string, error) {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("flush without a deadline")
		}
		got = d
		return batch, nil
	}
	b := New(flush, Options[string]{Timeout: time.Minute})
	within := func(name string, lo, hi time.Time) {
		t.Helper()
		if got.Before(lo) || got.After(hi) {
			t.Errorf("%s: flush deadline %v, want within [%v, %v]", name, got, lo, hi)
		}
	}

	start := time.Now()
	if _, err := b.Do(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	within("NoCallerDeadline", start.Add(time.Minute), time.Now().Add(time.Minute))

	soon := time.Now().Add(time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	if _, err := b.Do(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	within("CallerDeadlineSooner", soon, soon)

	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start = time.Now()
	if _, err := b.Do(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	within("CallerDeadlineLater", start.Add(time.Minute), time.Now().Add(time.Minute))
}

// Calls are reused once answered. Under many callers whose contexts end
// before, while or after their input is queued (the paths where take or Do
// itself gives up on a call), every call still gets its own answer: no
// answer left over from a call's last use, no answer meant for another.
func TestReusedCallsGetTheirOwnAnswers(t *testing.T) {
	flush := func(_ context.Context, batch []int) ([]int, error) {
		runtime.Gosched() // let callers queue and give up meanwhile
		out := make([]int, len(batch))
		for i, v := range batch {
			out[i] = 2 * v
		}
		return out, nil
	}
	b := New(flush, Options[int]{InFlight: 1})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				in := w*1_000_000 + i
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				switch i % 3 {
				case 0: // ended before Do: take or Do drops it
					ctx, cancel = context.WithCancel(context.Background())
					cancel()
				case 1: // ends while queued or in flight
					ctx, cancel = context.WithCancel(context.Background())
					go cancel()
				}
				out, err := b.Do(ctx, in)
				cancel()
				switch {
				case err == nil && out != 2*in:
					t.Errorf("Do(%d) = %d: another call's answer", in, out)
				case err != nil && (i%3 == 2 || !errors.Is(err, context.Canceled)):
					t.Errorf("Do(%d): %v", in, err)
				case err != nil && out != 0:
					t.Errorf("Do(%d) = %d with %v", in, out, err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select { // a call answered twice would block its flush for ever
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("callers still waiting after a minute: an answer went to the wrong use of a call")
	}
}

// A self-bounded flush gets neither the leader's deadline nor Timeout, and
// is not cut when the leader's context ends.
func TestSelfBoundedFlushHasNoDeadline(t *testing.T) {
	var flushes []context.Context
	flush := func(ctx context.Context, batch []string) ([]string, error) {
		flushes = append(flushes, ctx)
		return batch, nil
	}
	b := New(flush, Options[string]{Timeout: time.Minute, SelfBounded: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	if _, err := b.Do(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := b.Do(context.Background(), "y"); err != nil {
		t.Fatal(err)
	}
	for i, fctx := range flushes {
		if d, ok := fctx.Deadline(); ok {
			t.Errorf("flush %d: deadline %v, want none", i, d)
		}
		if err := fctx.Err(); err != nil {
			t.Errorf("flush %d: context ended (%v) with its leader's", i, err)
		}
	}
	if len(flushes) != 2 {
		t.Fatalf("%d flushes, want 2", len(flushes))
	}
}

// doneCounter is a context that counts the calls of Done.
type doneCounter struct {
	context.Context
	n atomic.Int32
}

func (d *doneCounter) Done() <-chan struct{} {
	d.n.Add(1)
	return d.Context.Done()
}

// A leader whose batch held its own call returns without asking its context
// for Done: a cancellable context makes its channel on the first Done, and
// the path taken at low load needs neither that channel nor the select.
func TestLeaderDoesNotWaitOnItsContext(t *testing.T) {
	b := New(func(_ context.Context, batch []int) ([]int, error) { return batch, nil }, Options[int]{SelfBounded: true})
	ctx := &doneCounter{Context: context.Background()}
	for i := range 3 {
		got, err := b.Do(ctx, i)
		if err != nil || got != i {
			t.Fatalf("Do(%d) = %d, %v", i, got, err)
		}
	}
	if n := ctx.n.Load(); n != 0 {
		t.Errorf("Done called %d times, want 0", n)
	}
}
