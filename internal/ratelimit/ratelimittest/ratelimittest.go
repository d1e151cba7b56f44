// Package ratelimittest gives benchmarks and fixtures the Redis limiter's raw
// script: a ceiling that runs one EVALSHA per request, a fixture that fills
// the limiter's state in bulk, a test that measures a subject's key. The
// gateway itself only calls redislimit.Limiter and never imports this package.
package ratelimittest

import (
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/internal/limiterscript"
)

// Script is the limiter's Lua script, as redislimit.Limiter runs it.
var Script = limiterscript.Script

// Keys are the state and generation keys of subject for a limiter made with
// redislimit.New(rdb, prefix).
func Keys(prefix, subject string) []string { return limiterscript.Keys(prefix, subject) }

// Args are the script's arguments for a check (record) or a peek under p.
func Args(p ratelimit.Policy, record bool) []any {
	return limiterscript.Args(record, len(p), func(i int) (int64, int, int) {
		return p[i].Granularity().Milliseconds(), p[i].Buckets, p[i].Limit
	})
}
