package ratelimit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/testenv"
)

// benchPolicy admits everything, so every run records (the costly path).
var benchPolicy = std(1<<30, 1<<30, 1<<30)

// BenchmarkRedisAllow is one Allow against real Redis, one caller: the round
// trip plus the script (three windows, 174 counters unpacked and packed).
func BenchmarkRedisAllow(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := ratelimit.NewRedis(rdb, prefix)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := l.Allow(ctx, "bench", benchPolicy); err != nil || !d.Allowed {
			b.Fatalf("allow: %v", err)
		}
	}
}

// BenchmarkRedisAllowParallel is the limiter's throughput with 64 callers in
// flight on 64 subjects (ns/op is the inverse of throughput): the figure
// ceiling (a) of the load benchmark adds HTTP to.
func BenchmarkRedisAllowParallel(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	l := ratelimit.NewRedis(rdb, prefix)
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
	keys := ratelimit.NewRedis(rdb, prefix).Keys("bench-raw")
	args := ratelimit.Args(benchPolicy, true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ratelimit.Script.Run(ctx, rdb, keys, args...).Err(); err != nil {
			b.Fatal(err)
		}
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
