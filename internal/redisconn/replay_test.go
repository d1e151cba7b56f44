package redisconn_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/redisconn"
	"github.com/stxgate/stxgate/internal/testenv"
)

// Claims are pipelined, so many racing claims of one id travel in one
// pipeline: exactly one of them may win, on one instance or across two.
func TestReplayRacingClaimsOneWinner(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	a, b := redisconn.NewReplay(rdb, prefix), redisconn.NewReplay(rdb, prefix)
	const ids, racers = 50, 16
	var wins [ids]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for r := range racers {
		store := a
		if r%2 == 1 {
			store = b
		}
		wg.Go(func() {
			<-start
			for i := range ids {
				fresh, err := store.Claim(context.Background(), fmt.Sprintf("id-%d", i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if fresh {
					wins[i].Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range wins {
		if n := wins[i].Load(); n != 1 {
			t.Fatalf("id-%d: %d winners, want exactly 1", i, n)
		}
	}
	ttl, err := rdb.PTTL(context.Background(), prefix+"replay:id-0").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("claim TTL %v (%v), want (0, 1m]", ttl, err)
	}
}
