package redislimit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/ratelimittest"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/testenv"
)

// benchPolicy admits everything, so every run records (the costly path).
var benchPolicy = std(1<<30, 1<<30, 1<<30)

// BenchmarkRedisAllow is one Allow against real Redis, one caller: the round
// trip plus the script (three windows of 61, 61 and 49 buckets).
func BenchmarkRedisAllow(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := redislimit.New(rdb, prefix)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := l.Allow(ctx, "bench", benchPolicy); err != nil || !d.Allowed {
			b.Fatalf("allow: %v", err)
		}
	}
}

// BenchmarkRedisAllowRequestDeadline is BenchmarkRedisAllow under a
// request's deadline, as the gateway calls it (httpapi's requestDeadline,
// STXGATE_REQUEST_TIMEOUT's default): the deadline's own context is counted.
func BenchmarkRedisAllowRequestDeadline(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := redislimit.New(rdb, prefix)
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		d, err := l.Allow(ctx, "bench", benchPolicy)
		cancel()
		if err != nil || !d.Allowed {
			b.Fatalf("allow: %v", err)
		}
	}
}

// BenchmarkRedisAllowParallel is the limiter's throughput with 64 callers in
// flight on 64 subjects (ns/op is the inverse of throughput): the figure
// ceiling (a) of the load benchmark adds HTTP to.
func BenchmarkRedisAllowParallel(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := redislimit.New(rdb, prefix)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		subject := "bench-" + strconv.FormatInt(next.Add(1)%64, 10)
		for pb.Next() {
			if d, err := l.Allow(ctx, subject, benchPolicy); err != nil || !d.Allowed {
				b.Fatalf("allow: %v", err)
			}
		}
	})
}

// BenchmarkScriptRun is the bare EVALSHA of the limiter script with
// precomputed arguments: what ceiling (a) does per request.
func BenchmarkScriptRun(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	keys := ratelimittest.Keys(prefix, "bench-raw")
	args := ratelimittest.Args(benchPolicy, true)
	ctx := context.Background()
	b.ReportAllocs()
	calls0, usec0 := evalStats(b, rdb)
	for b.Loop() {
		if err := ratelimittest.Script.Run(ctx, rdb, keys, args...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	if calls1, usec1 := evalStats(b, rdb); calls1 > calls0 {
		b.ReportMetric(float64(usec1-usec0)/float64(calls1-calls0), "redis-µs/call")
	}
}

// BenchmarkMemoryAllow is the in-process twin (the embedded default).
func BenchmarkMemoryAllow(b *testing.B) {
	l := ratelimit.NewMemory(time.Now)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := l.Allow(ctx, "bench", benchPolicy); err != nil || !d.Allowed {
			b.Fatalf("allow: %v", err)
		}
	}
}

// BenchmarkScriptBuckets records into one window of N buckets at a clock one
// bucket later each call (a busy subject: one bucket rotates out per call):
// the script's cost must not grow with N. redis-µs/call is Redis's own
// figure (INFO commandstats; other clients of a shared Redis add to it).
func BenchmarkScriptBuckets(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := redislimit.New(rdb, prefix)
	ctx := context.Background()
	for _, n := range []int{60, 600, 6000} {
		b.Run("N="+strconv.Itoa(n), func(b *testing.B) {
			p := ratelimit.Policy{{Name: "w", Size: time.Duration(n) * time.Second, Buckets: n, Limit: 1 << 30}}
			subject := "buckets-" + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			at := time.UnixMilli(1_900_000_000_000)
			// Fill every bucket once, so each later call rotates a non-empty one out.
			for i := range n + 1 {
				if _, err := l.AllowAt(ctx, subject, p, at.Add(time.Duration(i)*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
			at = at.Add(time.Duration(n+1) * time.Second)
			calls0, usec0 := evalStats(b, rdb)
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := l.AllowAt(ctx, subject, p, at.Add(time.Duration(i)*time.Second)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			calls1, usec1 := evalStats(b, rdb)
			if calls1 > calls0 {
				b.ReportMetric(float64(usec1-usec0)/float64(calls1-calls0), "redis-µs/call")
			}
		})
	}
}
