// Package redislimit is the production rate limiter: ratelimit's sliding
// windows kept in Redis by one Lua script, so every gateway instance counts
// against the same state.
package redislimit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/groupcommit"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/internal/limiterscript"
)

// script is the limiter's Lua script (../internal/limiterscript/limiter.lua).
var script = limiterscript.Script

// Limiter is the production ratelimit.Limiter. Keys are hash-tagged per
// subject, so the script runs unchanged on Redis Cluster; time comes from
// Redis TIME, so every gateway instance agrees.
//
// Concurrent checks are pipelined: while one pipeline is in flight, new
// checks queue, and the next pipeline carries all of them — one write and one
// read for many requests instead of one each, for the gateway and for Redis.
// Each check is still its own EVALSHA, atomic on its own; a check on an idle
// limiter goes at once. A caller may queue several checks as one unit
// (AllowAndPeek): they go out in the same pipeline.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	calls  *groupcommit.Batcher[[]scriptCall, []scriptResult]
	args   argsMemo
}

type scriptCall struct {
	keys []string
	args []any
}

type scriptResult struct {
	res []int64
	err error
}

// pipelinesInFlight is how many pipelines one limiter keeps in flight: enough
// that Redis has the next one queued while the gateway reads the last one's
// replies, few enough that each carries many checks. On the benchmark
// (bench/README.md) 2, 4, 8 and 16 all cut the gateway's and Redis's CPU per
// check against one EVALSHA per request, within the machine's noise of each
// other; 4 is the middle.
const pipelinesInFlight = 4

// New returns a limiter storing its state under prefix.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	r := &Limiter{rdb: rdb, prefix: prefix}
	r.calls = groupcommit.New(r.pipeline, groupcommit.Options[[]scriptCall]{InFlight: pipelinesInFlight})
	return r
}

// PipelineStats tells how checks were pipelined (metrics, tests).
func (r *Limiter) PipelineStats() groupcommit.Stats { return r.calls.Stats() }

// pipeline runs a batch of units of script calls in one round trip. A call
// that finds the script missing (a restarted or failed-over Redis) is run
// again alone by script.Run, which loads it.
func (r *Limiter) pipeline(ctx context.Context, batch [][]scriptCall) ([][]scriptResult, error) {
	out := make([][]scriptResult, len(batch))
	if len(batch) == 1 && len(batch[0]) == 1 {
		c := batch[0][0]
		res, err := script.Run(ctx, r.rdb, c.keys, c.args...).Int64Slice()
		out[0] = []scriptResult{{res: res, err: err}}
		return out, nil
	}
	cmds := make([][]*redis.Cmd, len(batch))
	_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, unit := range batch {
			cmds[i] = make([]*redis.Cmd, len(unit))
			for j, c := range unit {
				cmds[i][j] = script.EvalSha(ctx, p, c.keys, c.args...)
			}
		}
		return nil
	})
	for i, unit := range batch {
		out[i] = make([]scriptResult, len(unit))
		for j, cmd := range cmds[i] {
			if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				cmd = script.Run(ctx, r.rdb, unit[j].keys, unit[j].args...)
			}
			out[i][j].res, out[i][j].err = cmd.Int64Slice()
		}
	}
	return out, nil
}

// keys are the state and generation keys of subject.
func (r *Limiter) keys(subject string) []string { return limiterscript.Keys(r.prefix, subject) }

// Allow implements Limiter.
func (r *Limiter) Allow(ctx context.Context, subject string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return r.run(ctx, subject, p, true)
}

// Peek implements Limiter.
func (r *Limiter) Peek(ctx context.Context, subject string, p ratelimit.Policy) (ratelimit.Decision, error) {
	return r.run(ctx, subject, p, false)
}

// AllowAndPeek implements Limiter: both checks go out in one pipeline.
func (r *Limiter) AllowAndPeek(ctx context.Context, allow string, ap ratelimit.Policy, peek string, pp ratelimit.Policy) (ratelimit.Decision, ratelimit.Decision, error) {
	ds, err := r.runChecks(ctx, check{allow, ap, r.args.get(ap, true)}, check{peek, pp, r.args.get(pp, false)})
	if err != nil {
		return ratelimit.Decision{}, ratelimit.Decision{}, err
	}
	return ds[0], ds[1], nil
}

// AllowOnce implements Limiter: the marker is set by the limiter script
// itself, so marking and counting are one atomic step and one round trip.
func (r *Limiter) AllowOnce(ctx context.Context, subject string, p ratelimit.Policy, once string, ttl time.Duration) (ratelimit.Decision, error) {
	args := slices.Clone(r.args.get(p, true)) // shared: the copy carries the once flag
	args[0] = limiterscript.OnceFlag(max(1, ttl.Milliseconds()))
	out, err := r.calls.Do(ctx, []scriptCall{{keys: append(r.keys(subject), limiterscript.OnceKey(r.prefix, subject, once)), args: args}})
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("%w: limiter script: %w", ratelimit.ErrUnavailable, err)
	}
	return decision(out[0], p)
}

// Bump implements Limiter. The generation is set to a fresh random value
// rather than incremented, so a Redis restart that lost it can never bring
// back a value some instance cached earlier (no ABA); it only has to outlive
// the key cache's TTL.
func (r *Limiter) Bump(ctx context.Context, subject string) (int64, error) {
	gen := ratelimit.NewGeneration()
	if err := r.rdb.Set(ctx, r.keys(subject)[1], gen, ratelimit.GenerationTTL).Err(); err != nil {
		return 0, fmt.Errorf("%w: bump generation: %w", ratelimit.ErrUnavailable, err)
	}
	return gen, nil
}

// scriptArgs are the script's arguments for p.
func scriptArgs(p ratelimit.Policy, record bool) []any {
	return limiterscript.Args(record, len(p), func(i int) (int64, int, int) {
		return p[i].Granularity().Milliseconds(), p[i].Buckets, p[i].Limit
	})
}

func (r *Limiter) run(ctx context.Context, subject string, p ratelimit.Policy, record bool) (ratelimit.Decision, error) {
	return r.runArgs(ctx, subject, p, r.args.get(p, record))
}

// argsMemo keeps the script arguments of the policies in use: they are the
// same for every check of a policy (the IP and wallet limits, the keys'
// limits), and building them took a dozen allocations per check. The
// slices are shared and never modified (go-redis copies them into each
// command). At most maxMemoArgs policies are kept; others are built anew.
type argsMemo struct {
	mu sync.RWMutex
	m  map[argsKey][]any
}

const maxMemoArgs = 1024

// argsKey is a policy of at most three windows (every policy the gateway
// builds) as script arguments see it.
type argsKey struct {
	record bool
	n      int
	w      [3][3]int64 // granularity (ms), buckets, limit
}

func (a *argsMemo) get(p ratelimit.Policy, record bool) []any {
	if len(p) > 3 {
		return scriptArgs(p, record)
	}
	k := argsKey{record: record, n: len(p)}
	for i, w := range p {
		k.w[i] = [3]int64{w.Granularity().Milliseconds(), int64(w.Buckets), int64(w.Limit)}
	}
	a.mu.RLock()
	args, ok := a.m[k]
	a.mu.RUnlock()
	if ok {
		return args
	}
	args = slices.Clip(scriptArgs(p, record))
	a.mu.Lock()
	if a.m == nil {
		a.m = make(map[argsKey][]any)
	}
	if len(a.m) < maxMemoArgs {
		a.m[k] = args
	}
	a.mu.Unlock()
	return args
}

// runAt is run on a clock of the caller's (tests: clock steps); production
// always uses Redis TIME.
func (r *Limiter) runAt(ctx context.Context, subject string, p ratelimit.Policy, record bool, now time.Time) (ratelimit.Decision, error) {
	return r.runArgs(ctx, subject, p, append(scriptArgs(p, record), strconv.FormatInt(now.UnixMilli(), 10)))
}

func (r *Limiter) runArgs(ctx context.Context, subject string, p ratelimit.Policy, args []any) (ratelimit.Decision, error) {
	ds, err := r.runChecks(ctx, check{subject, p, args})
	if err != nil {
		return ratelimit.Decision{}, err
	}
	return ds[0], nil
}

// check is one script call: subject's keys, the policy its reply is read
// for, and the script's arguments.
type check struct {
	subject string
	p       ratelimit.Policy
	args    []any
}

// runChecks sends checks as one unit (one pipeline) and reads each reply.
func (r *Limiter) runChecks(ctx context.Context, checks ...check) ([]ratelimit.Decision, error) {
	calls := make([]scriptCall, len(checks))
	for i, c := range checks {
		calls[i] = scriptCall{keys: r.keys(c.subject), args: c.args}
	}
	out, err := r.calls.Do(ctx, calls)
	if err != nil {
		return nil, fmt.Errorf("%w: limiter script: %w", ratelimit.ErrUnavailable, err)
	}
	ds := make([]ratelimit.Decision, len(checks))
	for i, c := range checks {
		if ds[i], err = decision(out[i], c.p); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// decision reads one script call's reply for policy p.
func decision(out scriptResult, p ratelimit.Policy) (ratelimit.Decision, error) {
	res, err := out.res, out.err
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("%w: limiter script: %w", ratelimit.ErrUnavailable, err)
	}
	if len(res) != 3+3*len(p) {
		return ratelimit.Decision{}, fmt.Errorf("limiter script returned %d values for %d windows", len(res), len(p))
	}
	d := ratelimit.Decision{Allowed: res[0] == 1, Now: time.UnixMilli(res[1]), Generation: res[2], Windows: make([]ratelimit.WindowState, len(p))}
	for i, w := range p {
		v := res[3+3*i:]
		d.Windows[i] = ratelimit.WindowState{
			Window:     w,
			Remaining:  int(v[0]),
			Reset:      time.UnixMilli(v[1]),
			RetryAfter: time.Duration(v[2]) * time.Millisecond,
		}
	}
	return d, nil
}
