package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed limiter.lua
var limiterLua string

// Script is the limiter's Lua script (exported for the benchmark's ceiling).
var Script = redis.NewScript(limiterLua)

// Redis is the production limiter. Keys are hash-tagged per subject, so the
// script runs unchanged on Redis Cluster; time comes from Redis TIME, so every
// gateway instance agrees.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a limiter storing its state under prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// Keys are the state and generation keys of subject.
func (r *Redis) Keys(subject string) []string {
	tag := r.prefix + "{" + subject + "}"
	return []string{tag + ":rl", tag + ":gen"}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, subject string, p Policy) (Decision, error) {
	return r.run(ctx, subject, p, true)
}

// Peek implements Limiter.
func (r *Redis) Peek(ctx context.Context, subject string, p Policy) (Decision, error) {
	return r.run(ctx, subject, p, false)
}

// Bump implements Limiter. The generation is set to a fresh random value
// rather than incremented, so a Redis restart that lost it can never bring
// back a value some instance cached earlier (no ABA); it only has to outlive
// the key cache's TTL.
func (r *Redis) Bump(ctx context.Context, subject string) (int64, error) {
	gen := NewGeneration()
	if err := r.rdb.Set(ctx, r.Keys(subject)[1], gen, GenerationTTL).Err(); err != nil {
		return 0, fmt.Errorf("%w: bump generation: %w", ErrUnavailable, err)
	}
	return gen, nil
}

// Args are the script arguments for p (exported for the benchmark's ceiling).
func Args(p Policy, record bool) []any {
	args := make([]any, 0, 2+3*len(p))
	flag := "0"
	if record {
		flag = "1"
	}
	args = append(args, flag, strconv.Itoa(len(p)))
	for _, w := range p {
		args = append(args, strconv.FormatInt(w.Granularity().Milliseconds(), 10), strconv.Itoa(w.Buckets), strconv.Itoa(w.Limit))
	}
	return args
}

func (r *Redis) run(ctx context.Context, subject string, p Policy, record bool) (Decision, error) {
	res, err := Script.Run(ctx, r.rdb, r.Keys(subject), Args(p, record)...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("%w: limiter script: %w", ErrUnavailable, err)
	}
	if len(res) != 3+3*len(p) {
		return Decision{}, fmt.Errorf("limiter script returned %d values for %d windows", len(res), len(p))
	}
	d := Decision{Allowed: res[0] == 1, Now: time.UnixMilli(res[1]), Generation: res[2], Windows: make([]WindowState, len(p))}
	for i, w := range p {
		v := res[3+3*i:]
		d.Windows[i] = WindowState{
			Window:     w,
			Remaining:  int(v[0]),
			Reset:      time.UnixMilli(v[1]),
			RetryAfter: time.Duration(v[2]) * time.Millisecond,
		}
	}
	return d, nil
}
