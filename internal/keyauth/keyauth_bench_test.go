package keyauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/internal/testenv"
)

// fullCache is a cache holding n keys, as a busy gateway's would.
func fullCache(n int) (*keyauth.Cache, []apikey.Hash) {
	c := keyauth.NewCache(time.Hour, 1<<20, time.Now)
	hashes := make([]apikey.Hash, n)
	for i := range hashes {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		hashes[i] = sha256.Sum256(b[:])
		c.Put(hashes[i], keyauth.NewEntry(&apikey.Key{ID: "k" + string(rune('a'+i%26))}, 1))
	}
	return c, hashes
}

// BenchmarkCacheGet is the hot key lookup by hash (a hit) in a cache of 100k keys.
func BenchmarkCacheGet(b *testing.B) {
	c, hashes := fullCache(100_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(hashes[i%len(hashes)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

// BenchmarkCacheGetParallel is the same lookup from every core at once
// (shard read locks under contention).
func BenchmarkCacheGetParallel(b *testing.B) {
	c, hashes := fullCache(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(hashes[i%len(hashes)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

// authenticator returns an Authenticator over an in-memory key store holding
// one key with high limits, and that key's secret.
func authenticator(b *testing.B, limiter ratelimit.Limiter) (*keyauth.Authenticator, string) {
	b.Helper()
	limits := apikey.Limits{Minute: 1 << 30, Hour: 1 << 30, Day: 1 << 30}
	p := newKeyPath(memory.New(), limiter, limits, time.Hour, time.Now)
	_, secret := p.newKey(b, "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R", "bench")
	return p.auth, secret.String()
}

func benchAuthenticate(b *testing.B, limiter ratelimit.Limiter) {
	a, raw := authenticator(b, limiter)
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.1")
	if _, err := a.Authenticate(ctx, raw, ip, false); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(32) // 64 requests in flight on 2 cores, as the load benchmark's connections
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := a.Authenticate(ctx, raw, ip, false)
			if err != nil || !res.Decision.Allowed {
				b.Fatalf("authenticate: %v", err)
			}
		}
	})
}

// BenchmarkAuthenticateRedis is the whole keyed hot path below HTTP: parse,
// checksum, hash, cache hit, and one limiter round trip to real Redis
// (counts and generation check in one script run). With 32×GOMAXPROCS
// callers in flight, ns/op is the inverse of throughput, not a latency.
func BenchmarkAuthenticateRedis(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	benchAuthenticate(b, redislimit.New(rdb, prefix))
}

// BenchmarkAuthenticateMemory is the same path on the in-process limiter:
// what remains once the Redis round trip is taken away.
func BenchmarkAuthenticateMemory(b *testing.B) {
	benchAuthenticate(b, ratelimit.NewMemory(time.Now))
}
