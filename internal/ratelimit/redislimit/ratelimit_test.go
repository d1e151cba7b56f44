package redislimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/testenv"
)

type impl struct {
	name string
	new  func() ratelimit.Limiter // a second call shares state (another gateway instance)
}

// impls are the limiters every test runs against: real Redis and the in-process twin.
func impls(t *testing.T) []impl {
	rdb, prefix := testenv.Redis(t)
	mem := ratelimit.NewMemory(time.Now)
	return []impl{
		{"Redis", func() ratelimit.Limiter { return redislimit.New(rdb, prefix) }},
		{"Memory", func() ratelimit.Limiter { return mem }},
	}
}

func std(minute, hour, day int) ratelimit.Policy {
	return ratelimit.Policy{ratelimit.MinuteWindow(minute), ratelimit.HourWindow(hour), ratelimit.DayWindow(day)}
}

var subjectSeq atomic.Int64

func fresh(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), subjectSeq.Add(1))
}

func TestExactlyLimitAdmittedUnderConcurrency(t *testing.T) {
	for _, im := range impls(t) {
		for _, instances := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%dInstances", im.name, instances), func(t *testing.T) {
				lims := make([]ratelimit.Limiter, instances)
				for i := range lims {
					lims[i] = im.new()
				}
				subject := fresh("race")
				var admitted, refused atomic.Int64
				var wg sync.WaitGroup
				for i := range 1000 {
					wg.Go(func() {
						d, err := lims[i%instances].Allow(context.Background(), subject, std(100, 1000, 10000))
						if err != nil {
							t.Error(err)
							return
						}
						if d.Allowed {
							admitted.Add(1)
						} else {
							refused.Add(1)
						}
					})
				}
				wg.Wait()
				if admitted.Load() != 100 || refused.Load() != 900 {
					t.Fatalf("admitted %d refused %d, want exactly 100 and 900", admitted.Load(), refused.Load())
				}
			})
		}
	}
}

func TestRemainingCountsDownAndResetIsInsideWindow(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l, subject := im.new(), fresh("headers")
			for i := 1; i <= 5; i++ {
				d, err := l.Allow(context.Background(), subject, std(5, 1000, 10000))
				if err != nil {
					t.Fatal(err)
				}
				tw := d.Tightest()
				if !d.Allowed || tw.Name != "minute" || tw.Remaining != 5-i {
					t.Fatalf("request %d: allowed=%v tightest=%s remaining=%d, want minute %d", i, d.Allowed, tw.Name, tw.Remaining, 5-i)
				}
				if hour := d.Windows[1]; hour.Remaining != 1000-i {
					t.Fatalf("request %d: hour remaining %d", i, hour.Remaining)
				}
				if !tw.Reset.After(d.Now) || tw.Reset.After(d.Now.Add(time.Minute+time.Second)) {
					t.Fatalf("reset %v not in (now, now+61s] (now %v)", tw.Reset, d.Now)
				}
			}
			d, err := l.Allow(context.Background(), subject, std(5, 1000, 10000))
			if err != nil {
				t.Fatal(err)
			}
			tw := d.Tightest()
			if d.Allowed || tw.Name != "minute" || tw.Remaining != 0 || d.RetryAfter() <= 0 || d.RetryAfter() > time.Minute+time.Second {
				t.Fatalf("sixth: allowed=%v window=%s remaining=%d retry=%v", d.Allowed, tw.Name, tw.Remaining, d.RetryAfter())
			}
		})
	}
}

func TestRefusedRequestConsumesNothing(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l, subject := im.new(), fresh("refused")
			p := std(3, 1000, 10000)
			for range 10 {
				if _, err := l.Allow(context.Background(), subject, p); err != nil {
					t.Fatal(err)
				}
			}
			d, err := l.Peek(context.Background(), subject, p)
			if err != nil {
				t.Fatal(err)
			}
			if d.Windows[0].Remaining != 0 || d.Windows[1].Remaining != 997 || d.Windows[2].Remaining != 9997 {
				t.Fatalf("after 3 admitted and 7 refused: remaining %d/%d/%d, want 0/997/9997",
					d.Windows[0].Remaining, d.Windows[1].Remaining, d.Windows[2].Remaining)
			}
		})
	}
}

// Short windows stand in for the hour: 100 ms buckets.
func TestLongerWindowEnforcedAfterShortOneSlides(t *testing.T) {
	short := ratelimit.Window{Name: "short", Size: 400 * time.Millisecond, Buckets: 4, Limit: 3}
	long := ratelimit.Window{Name: "long", Size: 3 * time.Second, Buckets: 30, Limit: 5}
	p := ratelimit.Policy{short, long}
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l, subject := im.new(), fresh("long")
			admitted := 0
			deadline := time.Now().Add(2 * time.Second)
			var last ratelimit.Decision
			for time.Now().Before(deadline) {
				d, err := l.Allow(context.Background(), subject, p)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					admitted++
				}
				last = d
				time.Sleep(20 * time.Millisecond)
			}
			if admitted != 5 {
				t.Fatalf("admitted %d in 2s, want exactly the long window's 5", admitted)
			}
			if last.Allowed || last.Tightest().Name != "long" {
				t.Fatalf("last decision should be refused by the long window, got %+v", last.Tightest())
			}
		})
	}
}

func TestSlidingWindowNeverExceedsLimit(t *testing.T) {
	w := ratelimit.Window{Name: "w", Size: 500 * time.Millisecond, Buckets: 5, Limit: 4}
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l, subject := im.new(), fresh("slide")
			var admits []time.Time
			stop := time.Now().Add(1500 * time.Millisecond)
			for time.Now().Before(stop) {
				d, err := l.Allow(context.Background(), subject, ratelimit.Policy{w})
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					admits = append(admits, d.Now)
				}
				time.Sleep(7 * time.Millisecond)
			}
			for i := range admits {
				n := 0
				for j := i; j < len(admits) && admits[j].Sub(admits[i]) < w.Size; j++ {
					n++
				}
				if n > w.Limit {
					t.Fatalf("%d admitted within %v starting at %v", n, w.Size, admits[i])
				}
			}
			if len(admits) < 8 {
				t.Fatalf("only %d admitted in 1.5s: the window does not slide", len(admits))
			}
		})
	}
}

func TestGenerationBump(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l, subject := im.new(), fresh("gen")
			d, _ := l.Allow(context.Background(), subject, std(10, 100, 1000))
			if d.Generation != 0 {
				t.Fatalf("fresh generation %d", d.Generation)
			}
			g1, err := l.Bump(context.Background(), subject)
			if err != nil || g1 == 0 {
				t.Fatalf("bump: %d %v", g1, err)
			}
			d, _ = im.new().Allow(context.Background(), subject, std(10, 100, 1000))
			if d.Generation != g1 {
				t.Fatalf("generation after bump %d, want %d", d.Generation, g1)
			}
			g2, _ := l.Bump(context.Background(), subject)
			if d, _ = l.Peek(context.Background(), subject, std(10, 100, 1000)); g2 == g1 || d.Generation != g2 {
				t.Fatalf("second bump: %d then %d, peek %d", g1, g2, d.Generation)
			}
		})
	}
}

// TestRedisMemoryPerKey reports MEMORY USAGE of a key that used every bucket.
func TestRedisMemoryPerKey(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	l := redislimit.New(rdb, prefix)
	subject := fresh("mem")
	for range 300 {
		if _, err := l.Allow(context.Background(), subject, std(1000, 10000, 100000)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rdb.MemoryUsage(context.Background(), l.Keys(subject)[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEMORY USAGE of one active limiter key (3 windows, %d counters): %d bytes", 61+61+49, n)
	if n > 1024 {
		t.Fatalf("limiter state %d bytes > 1 KB", n)
	}
}

// TestRedisMemoryWorstCase: the state is at most a fixed-size string — four
// bytes, a 24-byte header per window and N+1 four-byte counters per window
// — so a key's memory is bounded whatever its counts: every counter of the
// default policy at its window's limit.
func TestRedisMemoryWorstCase(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	l := redislimit.New(rdb, prefix)
	subject := fresh("worst")
	if _, err := l.Allow(context.Background(), subject, std(100, 1000, 10000)); err != nil {
		t.Fatal(err)
	}
	const fill = `
local parts = {redis.call('GETRANGE', KEYS[1], 0, 4 + 3 * 24 - 1)}
local sizes, limits = {61, 61, 49}, {100, 1000, 10000}
for w = 1, 3 do parts[#parts + 1] = string.rep(struct.pack('>I4', limits[w]), sizes[w]) end
local full = table.concat(parts)
redis.call('SET', KEYS[1], full, 'PX', 90000000)
return #full`
	n, err := rdb.Eval(context.Background(), fill, l.Keys(subject)[:1]).Int()
	if want := 4 + 3*24 + 4*(61+61+49); err != nil || n != want {
		t.Fatalf("fill: %d bytes (want %d), %v", n, want, err)
	}
	bytes, err := rdb.MemoryUsage(context.Background(), l.Keys(subject)[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEMORY USAGE of one limiter key, every bucket at its window's limit: %d bytes", bytes)
	if bytes > 1024 {
		t.Fatalf("worst-case limiter state %d bytes > 1 KB", bytes)
	}
}

// Concurrent checks share pipelines, and each is still counted exactly: 40
// subjects with limit 25, 60 checks each from two limiters at once, while the
// script is flushed from Redis again and again (a restarted Redis), so
// pipelined calls meet NOSCRIPT and must load it.
func TestPipelinedChecksStayExact(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	stop := make(chan struct{})
	flushed := make(chan int)
	go func() {
		n := 0
		defer func() { flushed <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if rdb.ScriptFlush(context.Background()).Err() == nil {
					n++
				}
			}
		}
	}()
	lims := []*redislimit.Limiter{redislimit.New(rdb, prefix), redislimit.New(rdb, prefix)}
	const subjects, checks, limit = 40, 60, 25
	admitted := make([]atomic.Int64, subjects)
	var wg sync.WaitGroup
	for s := range subjects {
		subject := fresh(fmt.Sprintf("pipe%d", s))
		for i := range checks {
			wg.Go(func() {
				d, err := lims[i%2].Allow(context.Background(), subject, std(limit, 1000, 10000))
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted[s].Add(1)
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	t.Logf("script flushed %d times during the run", <-flushed)
	for s := range subjects {
		if n := admitted[s].Load(); n != limit {
			t.Fatalf("subject %d: %d admitted, want exactly %d", s, n, limit)
		}
	}
	var batches, inputs uint64
	for _, l := range lims {
		st := l.PipelineStats()
		batches, inputs = batches+st.Batches, inputs+st.Inputs
	}
	if inputs != subjects*checks || batches >= inputs/2 {
		t.Fatalf("%d checks in %d round trips: want %d checks, pipelined", inputs, batches, subjects*checks)
	}
	t.Logf("%d checks in %d round trips", inputs, batches)
}

// AllowAndPeek records the first subject and only reads the second, like
// Allow and Peek called apart; racing callers still admit exactly the limit
// of the allowed subject and never move the peeked one.
func TestAllowAndPeek(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			lim := im.new()
			ctx := context.Background()
			ip, wallet := fresh("ip"), fresh("wallet")
			ipPolicy, walletPolicy := ratelimit.Policy{ratelimit.MinuteWindow(40)}, ratelimit.Policy{ratelimit.MinuteWindow(5)}
			for range 2 {
				if _, err := lim.Allow(ctx, wallet, walletPolicy); err != nil {
					t.Fatal(err)
				}
			}
			var admitted atomic.Int32
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					for range 5 {
						a, p, err := lim.AllowAndPeek(ctx, ip, ipPolicy, wallet, walletPolicy)
						if err != nil {
							t.Error(err)
							return
						}
						if a.Allowed {
							admitted.Add(1)
						}
						if !p.Allowed || p.Windows[0].Remaining != 3 {
							t.Errorf("peeked wallet: allowed %v remaining %d, want true 3", p.Allowed, p.Windows[0].Remaining)
						}
					}
				})
			}
			wg.Wait()
			if n := admitted.Load(); n != 40 {
				t.Fatalf("admitted %d of 50 racing requests, want the limit 40", n)
			}
			d, err := lim.Peek(ctx, ip, ipPolicy)
			if err != nil || d.Allowed || d.Windows[0].Remaining != 0 {
				t.Fatalf("ip after the race: allowed %v remaining %d (%v), want false 0", d.Allowed, d.Windows[0].Remaining, err)
			}
		})
	}
}

// AllowOnce counts a marker once however many instances present it at once,
// peeks for every later presentation, and counts another marker again.
func TestAllowOnceCountsEachMarkerOnce(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			lims := []ratelimit.Limiter{im.new(), im.new()}
			subject, ctx, p := fresh("once"), context.Background(), std(100, 1000, 10000)
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					if _, err := lims[i%2].AllowOnce(ctx, subject, p, "m1", time.Minute); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			d, err := lims[0].Peek(ctx, subject, p)
			if err != nil || d.Windows[0].Remaining != 99 {
				t.Fatalf("after 50 presentations of one marker: remaining %d, %v; want 99", d.Windows[0].Remaining, err)
			}
			d, err = lims[1].AllowOnce(ctx, subject, p, "m2", time.Minute)
			if err != nil || !d.Allowed || d.Windows[0].Remaining != 98 {
				t.Fatalf("a second marker: %+v, %v; want counted (98 remaining)", d, err)
			}
			d, err = lims[0].AllowOnce(ctx, subject, p, "m2", time.Minute)
			if err != nil || !d.Allowed || d.Windows[0].Remaining != 98 {
				t.Fatalf("the second marker again: %+v, %v; want a peek (98 remaining)", d, err)
			}
		})
	}
}

// A lone check, a check with its peek and a once-only check each load the
// script again when Redis lost it (NOSCRIPT on EVALSHA: EVAL).
func TestLoneChecksLoadTheScriptAgain(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	l := redislimit.New(rdb, prefix)
	ctx := context.Background()
	p := std(10, 100, 1000)
	subject := fresh("noscript")
	for i, check := range []func() (ratelimit.Decision, error){
		func() (ratelimit.Decision, error) { return l.Allow(ctx, subject, p) },
		func() (ratelimit.Decision, error) {
			d, _, err := l.AllowAndPeek(ctx, subject, p, fresh("noscript-peek"), p)
			return d, err
		},
		func() (ratelimit.Decision, error) { return l.AllowOnce(ctx, subject, p, "m", time.Minute) },
		func() (ratelimit.Decision, error) { return l.Peek(ctx, subject, p) },
	} {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		d, err := check()
		if err != nil || !d.Allowed || d.Windows[0].Remaining != 10-min(i+1, 3) {
			t.Fatalf("check %d after SCRIPT FLUSH: %+v, %v", i, d, err)
		}
	}
}
