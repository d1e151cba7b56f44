package scaletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/ratelimittest"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/redisconn"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// TestRedisCluster runs the limiter, the replay store and revocation on a
// real three-master Redis Cluster, named the way operators name it in
// REDIS_URL (redis+cluster://...). One cluster serves every subtest.
func TestRedisCluster(t *testing.T) {
	rc := startRedisCluster(t)
	ctx := context.Background()
	connect := func(t *testing.T) redis.UniversalClient { // one client per "gateway instance"
		rdb, err := redisconn.Connect(ctx, rc.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	const prefix = "stxgate:"
	std := func(minute int) ratelimit.Policy {
		return ratelimit.Policy{ratelimit.MinuteWindow(minute), ratelimit.HourWindow(1000), ratelimit.DayWindow(10000)}
	}

	t.Run("URLNamesACluster", func(t *testing.T) {
		rdb := connect(t)
		cc, ok := rdb.(*redis.ClusterClient)
		if !ok {
			t.Fatalf("REDIS_URL %s gave a %T, want *redis.ClusterClient", rc.URL, rdb)
		}
		var masters atomic.Int64 // ForEachMaster calls concurrently
		if err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		if masters.Load() != 3 {
			t.Fatalf("%d masters, want 3", masters.Load())
		}
	})

	// Both keys of a subject must hash to one slot (the script touches both),
	// and subjects must spread over the masters (else this is no cluster test).
	t.Run("SubjectKeysShareASlotAndSubjectsSpread", func(t *testing.T) {
		cc := connect(t).(*redis.ClusterClient)
		nodes := map[string]bool{}
		for i := range 30 {
			keys := ratelimittest.Keys(prefix, fmt.Sprintf("k:key%d", i)) // redislimit.New(cc, prefix)'s
			s1, err1 := cc.ClusterKeySlot(ctx, keys[0]).Result()
			s2, err2 := cc.ClusterKeySlot(ctx, keys[1]).Result()
			if err1 != nil || err2 != nil || s1 != s2 {
				t.Fatalf("%v: slots %d, %d (%v %v)", keys, s1, s2, err1, err2)
			}
			m, err := cc.MasterForKey(ctx, keys[0])
			if err != nil {
				t.Fatal(err)
			}
			nodes[m.Options().Addr] = true
		}
		if len(nodes) < 2 {
			t.Fatalf("30 subjects all on %v", nodes)
		}
	})

	// The limiter test of internal/ratelimit, on the cluster: two instances
	// (two clients), 1,000 concurrent requests for each of three subjects.
	t.Run("ExactlyLimitAdmittedUnderConcurrency", func(t *testing.T) {
		lims := []ratelimit.Limiter{redislimit.New(connect(t), prefix), redislimit.New(connect(t), prefix)}
		subjects := []string{"k:race-a", "k:race-b", "k:race-c"}
		admitted := make([]atomic.Int64, len(subjects))
		refused := make([]atomic.Int64, len(subjects))
		var wg sync.WaitGroup
		for i := range 3000 {
			wg.Go(func() {
				s := i % len(subjects)
				d, err := lims[i%2].Allow(ctx, subjects[s], std(100))
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted[s].Add(1)
				} else {
					refused[s].Add(1)
				}
			})
		}
		wg.Wait()
		for s := range subjects {
			if admitted[s].Load() != 100 || refused[s].Load() != 900 {
				t.Fatalf("%s: admitted %d refused %d, want exactly 100 and 900", subjects[s], admitted[s].Load(), refused[s].Load())
			}
		}
	})

	t.Run("GenerationBump", func(t *testing.T) {
		l1, l2 := redislimit.New(connect(t), prefix), redislimit.New(connect(t), prefix)
		subject := "k:gen"
		d, err := l1.Allow(ctx, subject, std(10))
		if err != nil || d.Generation != 0 {
			t.Fatalf("fresh generation %d (%v)", d.Generation, err)
		}
		g1, err := l1.Bump(ctx, subject)
		if err != nil || g1 == 0 {
			t.Fatalf("bump: %d %v", g1, err)
		}
		if d, _ = l2.Allow(ctx, subject, std(10)); d.Generation != g1 {
			t.Fatalf("other instance sees generation %d, want %d", d.Generation, g1)
		}
		g2, _ := l2.Bump(ctx, subject)
		if d, _ = l1.Peek(ctx, subject, std(10)); g2 == g1 || d.Generation != g2 {
			t.Fatalf("second bump: %d then %d, peek %d", g1, g2, d.Generation)
		}
		if d.Windows[0].Remaining != 8 {
			t.Fatalf("remaining %d after 2 requests of 10", d.Windows[0].Remaining)
		}
	})

	t.Run("ReplayClaimIsSingleUse", func(t *testing.T) {
		r1, r2 := redisconn.NewReplay(connect(t), prefix), redisconn.NewReplay(connect(t), prefix)
		var won atomic.Int64
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				r := r1
				if i%2 == 1 {
					r = r2
				}
				ok, err := r.Claim(ctx, "msg-sha", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d claims won, want 1", won.Load())
		}
	})

	// Two whole gateways on the cluster and one database: a key revoked on
	// one is refused by the other on its next request, a signed message is
	// single use across both, and the key's limit is shared.
	t.Run("RevocationReplayAndLimitsAcrossGateways", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.DatabaseURL = testenv.PostgresDSN(t)
		cfg.RedisURL = rc.URL
		cfg.RedisPrefix = "stxgate-cluster-test:"
		cfg.RateLimitMinute = 8
		g1, g2 := startInProcess(t, cfg, app.Options{}), startInProcess(t, cfg, app.Options{})
		w := signer(t)
		owner1 := g1.Client(t, client.WithSigner(w))
		owner2 := g2.Client(t, client.WithSigner(w))

		created := testgateway.NewKey(t, owner1, "bot", "execute")
		bots := []*client.Client{g1.Client(t, client.WithAPIKey(created.APIKey)), g2.Client(t, client.WithAPIKey(created.APIKey))}

		// 20 concurrent requests over both gateways: exactly the limit of 8 pass.
		if admitted, limited := selfAtOnce(t, ctx, bots, 20); admitted != 8 || limited != 12 {
			t.Fatalf("%d admitted, %d limited; want 8 and 12", admitted, limited)
		}

		// A second key (fresh limits), cached by both gateways, then revoked on g2.
		k2 := testgateway.NewKey(t, owner1, "doomed", "cancel")
		d1, d2 := g1.Client(t, client.WithAPIKey(k2.APIKey)), g2.Client(t, client.WithAPIKey(k2.APIKey))
		for _, c := range []*client.Client{d1, d2} {
			if _, _, err := c.Self(ctx); err != nil {
				t.Fatalf("self before revocation: %v", err)
			}
		}
		if _, _, err := owner2.RevokeKey(ctx, k2.KeyID); err != nil {
			t.Fatal(err)
		}
		for i, c := range []*client.Client{d1, d2} {
			_, _, err := c.Self(ctx)
			if st, msg := apiStatus(t, err); st != http.StatusUnauthorized || msg != "API key inactive" {
				t.Fatalf("gateway %d after revocation: %d %q, want 401 API key inactive", i+1, st, msg)
			}
		}

		// One signed message, sent to g1 then to g2: the second is a replay.
		msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"once","permissions":["execute"],"timestamp":%d}`, time.Now().UnixMilli())
		sig, err := w.SignMessage(ctx, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"message": msg, "signature": sig, "walletAddress": w.Address(stacks.Mainnet)})
		for i, want := range []int{http.StatusCreated, http.StatusUnauthorized} {
			resp, err := http.Post([]string{g1.URL, g2.URL}[i]+"/api/v1/api-keys", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != want || (want == http.StatusUnauthorized && out["error"] != "Message already used") {
				t.Fatalf("send %d: %d %v, want %d", i+1, resp.StatusCode, out, want)
			}
		}
	})
}
