package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replay keeps used-message ids in Redis with SET NX PX, so a message
// is single use across every gateway instance.
type Replay struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewReplay stores ids under prefix (e.g. "stxgate:").
func NewReplay(rdb redis.UniversalClient, prefix string) *Replay {
	return &Replay{rdb: rdb, prefix: prefix}
}

// Claim implements walletauth.ReplayStore.
func (r *Replay) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.prefix+"replay:"+id, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis setnx: %w", err)
	}
	return ok, nil
}
