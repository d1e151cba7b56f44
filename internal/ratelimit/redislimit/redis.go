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
	calls  *groupcommit.Batcher[unit, unitResult]
	args   argsMemo
	subs   keysMemo
}

// unit is the script calls a caller sends together: one, or two
// (AllowAndPeek), held in place rather than in a slice per check.
type unit struct {
	n     int
	calls [2]scriptCall
}

// unitResult is a unit's replies, in its calls' order.
type unitResult [2]scriptResult

type scriptCall struct {
	keys  []string // for EVAL, when Redis has lost the script
	boxed []any    // the same keys as EVALSHA's arguments
	args  []any
}

type scriptResult struct {
	res []any // the script's integers, as go-redis read them
	err error
}

// pipelinesInFlight is how many pipelines one limiter keeps in flight: enough
// that Redis has the next one queued while the gateway reads the last one's
// replies, few enough that each carries many checks. On the benchmark
// (bench/README.md) 2, 4, 8 and 16 all cut the gateway's and Redis's CPU per
// check against one EVALSHA per request, within the machine's noise of each
// other; 4 is the middle.
const pipelinesInFlight = 4

// New returns a limiter storing its state under prefix. Its pipelines are
// self-bounded (groupcommit.Options.SelfBounded): the gateway's clients
// never set ContextTimeoutEnabled, so go-redis bounds each call by its own
// timeouts (3 s a read or write, 4 s a wait for a pool connection, one
// retry). A request deadline never cut a read or a write; one shorter than
// 4 s used to cut the wait for a connection, and no longer does.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	r := &Limiter{rdb: rdb, prefix: prefix}
	r.calls = groupcommit.New(r.pipeline, groupcommit.Options[unit]{InFlight: pipelinesInFlight, SelfBounded: true})
	return r
}

// PipelineStats tells how checks were pipelined (metrics, tests).
func (r *Limiter) PipelineStats() groupcommit.Stats { return r.calls.Stats() }

// pipeline runs a batch of units of script calls in one round trip. A call
// that finds the script missing (a restarted or failed-over Redis) is run
// again alone with EVAL, which loads it.
func (r *Limiter) pipeline(ctx context.Context, batch []unit) ([]unitResult, error) {
	out := make([]unitResult, len(batch))
	if len(batch) == 1 && batch[0].n == 1 {
		c := batch[0].calls[0]
		cmd := evalSha(ctx, c)
		_ = r.rdb.Process(ctx, cmd)
		out[0][0] = r.result(ctx, cmd, c)
		return out, nil
	}
	cmds := make([][2]*redis.Cmd, len(batch))
	_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range batch {
			for j, c := range u.calls[:u.n] {
				cmds[i][j] = evalSha(ctx, c)
				_ = p.Process(ctx, cmds[i][j])
			}
		}
		return nil
	})
	for i, u := range batch {
		for j, c := range u.calls[:u.n] {
			out[i][j] = r.result(ctx, cmds[i][j], c)
		}
	}
	return out, nil
}

// scriptSHA is the script's SHA-1, boxed once as a command argument.
var scriptSHA any = script.Hash()

// evalSha is EVALSHA of the script for c: what script.EvalSha sends, with
// the arguments already boxed (script.EvalSha boxes the hash and each key
// again on every call).
func evalSha(ctx context.Context, c scriptCall) *redis.Cmd {
	args := make([]any, 0, 3+len(c.boxed)+len(c.args))
	args = append(args, "evalsha", scriptSHA, len(c.boxed))
	args = append(args, c.boxed...)
	args = append(args, c.args...)
	cmd := redis.NewCmd(ctx, args...)
	cmd.SetFirstKeyPos(3)
	return cmd
}

// result is cmd's reply; on NOSCRIPT, c is run again with EVAL (as
// script.Run does), which loads the script.
func (r *Limiter) result(ctx context.Context, cmd *redis.Cmd, c scriptCall) scriptResult {
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = script.Eval(ctx, r.rdb, c.keys, c.args...)
	}
	res, err := cmd.Slice()
	return scriptResult{res: res, err: err}
}

// keys are the state and generation keys of subject.
func (r *Limiter) keys(subject string) []string { return r.subs.get(r.prefix, subject).keys }

// call is the script call of subject with args.
func (r *Limiter) call(subject string, args []any) scriptCall {
	k := r.subs.get(r.prefix, subject)
	return scriptCall{keys: k.keys, boxed: k.boxed, args: args}
}

// keysMemo keeps the keys of the subjects in use, boxed as command
// arguments too: building them took four allocations per check. At most
// maxMemoSubjects are kept; then the memo starts again (the IP subjects of
// a crowd of clients must not grow it without bound).
type keysMemo struct {
	mu sync.RWMutex
	m  map[string]*subjectKeys
}

type subjectKeys struct {
	keys  []string
	boxed []any
}

const maxMemoSubjects = 4096

func (k *keysMemo) get(prefix, subject string) *subjectKeys {
	k.mu.RLock()
	sk := k.m[subject]
	k.mu.RUnlock()
	if sk != nil {
		return sk
	}
	keys := slices.Clip(limiterscript.Keys(prefix, subject))
	sk = &subjectKeys{keys: keys, boxed: boxKeys(keys)}
	k.mu.Lock()
	if k.m == nil || len(k.m) >= maxMemoSubjects {
		k.m = make(map[string]*subjectKeys)
	}
	k.m[subject] = sk
	k.mu.Unlock()
	return sk
}

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
	u := unit{n: 2, calls: [2]scriptCall{r.call(allow, r.args.get(ap, true)), r.call(peek, r.args.get(pp, false))}}
	out, err := r.calls.Do(ctx, u)
	if err != nil {
		return ratelimit.Decision{}, ratelimit.Decision{}, unavailable(err)
	}
	da, err := decision(out[0], ap)
	if err != nil {
		return ratelimit.Decision{}, ratelimit.Decision{}, err
	}
	dp, err := decision(out[1], pp)
	if err != nil {
		return ratelimit.Decision{}, ratelimit.Decision{}, err
	}
	return da, dp, nil
}

// AllowOnce implements Limiter: the marker is set by the limiter script
// itself, so marking and counting are one atomic step and one round trip.
func (r *Limiter) AllowOnce(ctx context.Context, subject string, p ratelimit.Policy, once string, ttl time.Duration) (ratelimit.Decision, error) {
	args := slices.Clone(r.args.get(p, true)) // shared: the copy carries the once flag
	args[0] = limiterscript.OnceFlag(max(1, ttl.Milliseconds()))
	keys := append(slices.Clip(r.keys(subject)), limiterscript.OnceKey(r.prefix, subject, once)) // a copy: the memo's stay as they are
	out, err := r.calls.Do(ctx, unit{n: 1, calls: [2]scriptCall{{keys: keys, boxed: boxKeys(keys), args: args}}})
	if err != nil {
		return ratelimit.Decision{}, unavailable(err)
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
	out, err := r.calls.Do(ctx, unit{n: 1, calls: [2]scriptCall{r.call(subject, args)}})
	if err != nil {
		return ratelimit.Decision{}, unavailable(err)
	}
	return decision(out[0], p)
}

// decision reads one script call's reply for policy p.
func decision(out scriptResult, p ratelimit.Policy) (ratelimit.Decision, error) {
	vals, err := out.res, out.err
	if err != nil {
		return ratelimit.Decision{}, unavailable(err)
	}
	if len(vals) != 3+3*len(p) {
		return ratelimit.Decision{}, fmt.Errorf("limiter script returned %d values for %d windows", len(vals), len(p))
	}
	var buf [3 + 3*3]int64
	res := buf[:0]
	for _, v := range vals { // as go-redis's Int64Slice reads them, without its slice
		n, err := toInt64(v)
		if err != nil {
			return ratelimit.Decision{}, unavailable(err)
		}
		res = append(res, n)
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

// boxKeys is keys as command arguments.
func boxKeys(keys []string) []any {
	boxed := make([]any, len(keys))
	for i, k := range keys {
		boxed[i] = k
	}
	return boxed
}

// unavailable is err of a limiter script call: the limiter cannot decide.
func unavailable(err error) error {
	return fmt.Errorf("%w: limiter script: %w", ratelimit.ErrUnavailable, err)
}

// toInt64 is go-redis's reading of a reply value as an integer.
func toInt64(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("redis: unexpected type=%T for Int64", v)
}
