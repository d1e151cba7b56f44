package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/groupcommit"
)

// Replay keeps used-message ids in Redis with SET NX PX, so a message
// is single use across every gateway instance.
//
// Concurrent claims are pipelined like the limiter's checks (one write and
// one read for many requests): each is still its own SET NX, atomic on its
// own, and two claims of one id in one pipeline run in order, so exactly one
// of them wins.
type Replay struct {
	rdb    redis.UniversalClient
	prefix string
	claims *groupcommit.Batcher[claim, claimResult]
}

type claim struct {
	key string
	ttl time.Duration
}

type claimResult struct {
	fresh bool
	err   error
}

// NewReplay stores ids under prefix (e.g. "stxgate:").
func NewReplay(rdb redis.UniversalClient, prefix string) *Replay {
	r := &Replay{rdb: rdb, prefix: prefix}
	r.claims = groupcommit.New(r.pipeline, groupcommit.Options[claim]{InFlight: 4, SelfBounded: true})
	return r
}

// PipelineStats tells how claims were pipelined (metrics, tests).
func (r *Replay) PipelineStats() groupcommit.Stats { return r.claims.Stats() }

// pipeline sends a batch of claims in one round trip.
func (r *Replay) pipeline(ctx context.Context, batch []claim) ([]claimResult, error) {
	out := make([]claimResult, len(batch))
	if len(batch) == 1 {
		out[0].fresh, out[0].err = r.rdb.SetNX(ctx, batch[0].key, 1, batch[0].ttl).Result()
		return out, nil
	}
	cmds := make([]*redis.BoolCmd, len(batch))
	_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = p.SetNX(ctx, c.key, 1, c.ttl)
		}
		return nil
	})
	for i, cmd := range cmds {
		out[i].fresh, out[i].err = cmd.Result()
	}
	return out, nil
}

// Claim implements walletauth.ReplayStore.
func (r *Replay) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	res, err := r.claims.Do(ctx, claim{key: r.prefix + "replay:" + id, ttl: ttl})
	if err == nil {
		err = res.err
	}
	if err != nil {
		return false, fmt.Errorf("redis setnx: %w", err)
	}
	return res.fresh, nil
}
