package redislimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/testenv"
)

// The Redis script keeps running sums and touches only the buckets that
// rotated out; the in-process twin re-sums every bucket on every call (the
// plain statement of the algorithm). On one clock — stepping forward within a
// bucket, across buckets, past whole windows, and back by a little or a lot —
// both must give the same decision, remaining count, reset and retry-after
// for every window, and no window may ever hold more admitted requests than
// its limit (counted on the latest clock a recording call saw: after a step
// back, requests count in the newest bucket; a peek changes nothing).

type clockStep struct {
	name string
	gen  func(r *rand.Rand, g time.Duration) time.Duration
}

var clockSteps = []clockStep{
	{"same instant", func(*rand.Rand, time.Duration) time.Duration { return 0 }},
	{"within a bucket", func(r *rand.Rand, g time.Duration) time.Duration { return time.Duration(r.Int64N(int64(g / 4))) }},
	{"a few buckets", func(r *rand.Rand, g time.Duration) time.Duration { return time.Duration(r.Int64N(int64(5 * g))) }},
	{"past the short window", func(r *rand.Rand, g time.Duration) time.Duration { return 7*g + time.Duration(r.Int64N(int64(g))) }},
	{"past every window", func(r *rand.Rand, g time.Duration) time.Duration { return 200 * g }},
	{"back a little", func(r *rand.Rand, g time.Duration) time.Duration { return -time.Duration(r.Int64N(int64(2 * g))) }},
	{"back a lot", func(r *rand.Rand, g time.Duration) time.Duration { return -40 * g }},
}

func TestScriptMatchesTwinUnderClockSteps(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	red := redislimit.New(rdb, prefix)
	// Small windows with few buckets so steps cross buckets and windows often;
	// the default shape too (its buckets at 1 s, 1 min, 30 min; steps in minutes).
	policies := map[string]ratelimit.Policy{
		"small": {
			{Name: "short", Size: 600 * time.Millisecond, Buckets: 6, Limit: 4},
			{Name: "mid", Size: 3 * time.Second, Buckets: 10, Limit: 9},
			{Name: "long", Size: 12 * time.Second, Buckets: 4, Limit: 15},
		},
		"default": std(5, 20, 40),
	}
	for name, p := range policies {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("%s/seed%d", name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 16))
				g := p[0].Granularity() // the step unit: the small policy's shortest bucket, the default's minute
				if name == "default" {
					g = p[1].Granularity()
				}
				now := time.UnixMilli(1_900_000_000_000 + int64(seed)*7919)
				mem := ratelimit.NewMemory(func() time.Time { return now })
				subject := fresh("clock")
				var latest time.Time   // the latest clock a recording call has seen
				var admits []time.Time // on the latest clock seen
				steps := map[string]int{}
				for i := range 1000 {
					st := clockSteps[rng.IntN(len(clockSteps))]
					now = now.Add(st.gen(rng, g))
					steps[st.name]++
					record := rng.IntN(8) != 0
					if record && now.After(latest) {
						latest = now
					}
					var want, got ratelimit.Decision
					var err error
					if record {
						want, _ = mem.Allow(context.Background(), subject, p)
						got, err = red.AllowAt(context.Background(), subject, p, now)
					} else {
						want, _ = mem.Peek(context.Background(), subject, p)
						got, err = red.PeekAt(context.Background(), subject, p, now)
					}
					if err != nil {
						t.Fatal(err)
					}
					if d := diffDecision(want, got); d != "" {
						t.Fatalf("call %d (%s, record %v, step %q): %s", i, now.Format("15:04:05.000"), record, st.name, d)
					}
					if record && got.Allowed {
						admits = append(admits, latest)
						for _, w := range p {
							n := 0
							for _, at := range admits {
								if latest.Sub(at) < w.Size {
									n++
								}
							}
							if n > w.Limit {
								t.Fatalf("call %d: %d admitted within the last %v, limit %d", i, n, w.Size, w.Limit)
							}
						}
					}
				}
				if len(admits) < 100 {
					t.Fatalf("only %d admitted: the sequence does not exercise the limits", len(admits))
				}
				t.Logf("%d admitted; steps %v", len(admits), steps)
			})
		}
	}
}

func diffDecision(want, got ratelimit.Decision) string {
	if want.Allowed != got.Allowed || !want.Now.Equal(got.Now) || len(want.Windows) != len(got.Windows) {
		return fmt.Sprintf("allowed %v at %v, want %v at %v", got.Allowed, got.Now, want.Allowed, want.Now)
	}
	for i := range want.Windows {
		w, g := want.Windows[i], got.Windows[i]
		if w.Remaining != g.Remaining || !w.Reset.Equal(g.Reset) || w.RetryAfter != g.RetryAfter {
			return fmt.Sprintf("window %s: remaining %d reset %v retry %v, want %d %v %v",
				w.Name, g.Remaining, g.Reset.UnixMilli(), g.RetryAfter, w.Remaining, w.Reset.UnixMilli(), w.RetryAfter)
		}
	}
	return ""
}

// A step back never frees capacity: requests keep counting in the newest
// bucket, and stepping forward again finds them there.
func TestClockStepBackCountsInNewestBucket(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	red := redislimit.New(rdb, prefix)
	p := ratelimit.Policy{{Name: "w", Size: time.Second, Buckets: 10, Limit: 3}}
	subject := fresh("back")
	t0 := time.UnixMilli(1_900_000_000_000)
	allow := func(at time.Time) ratelimit.Decision {
		t.Helper()
		d, err := red.AllowAt(context.Background(), subject, p, at)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 3 {
		if d := allow(t0.Add(time.Duration(i) * 300 * time.Millisecond)); !d.Allowed {
			t.Fatalf("request %d refused", i)
		}
	}
	// The clock jumps an hour back: the window is full all the same.
	if d := allow(t0.Add(-time.Hour)); d.Allowed || d.Windows[0].Remaining != 0 {
		t.Fatalf("after a step back: allowed %v remaining %d", d.Allowed, d.Windows[0].Remaining)
	}
	// Back to the real time, past the first request's bucket: one frees.
	if d := allow(t0.Add(1100 * time.Millisecond)); !d.Allowed || d.Windows[0].Remaining != 0 {
		t.Fatalf("1.1 s on: allowed %v remaining %d", d.Allowed, d.Windows[0].Remaining)
	}
	// A forward jump past the window frees everything.
	if d := allow(t0.Add(time.Hour)); !d.Allowed || d.Windows[0].Remaining != 2 {
		t.Fatalf("an hour on: allowed %v remaining %d", d.Allowed, d.Windows[0].Remaining)
	}
}
