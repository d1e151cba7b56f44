// Package limiterscript is the Redis limiter's Lua script and how it is
// called: its keys and its arguments. Only the limiter (ratelimit/redislimit)
// and its benchmark support (internal/ratelimit/ratelimittest) import it.
package limiterscript

import (
	_ "embed"
	"strconv"

	"github.com/redis/go-redis/v9"
)

//go:embed limiter.lua
var source string

// Script is the limiter's script (EVALSHA, loaded on NOSCRIPT by Run).
var Script = redis.NewScript(source)

// Keys are the state and generation keys of subject under prefix. Both carry
// the subject as hash tag, so the script runs unchanged on Redis Cluster.
func Keys(prefix, subject string) []string {
	tag := prefix + "{" + subject + "}"
	return []string{tag + ":rl", tag + ":gen"}
}

// OnceKey is the marker key of AllowOnce: the subject's hash tag, so the
// script still touches one slot.
func OnceKey(prefix, subject, once string) string {
	return prefix + "{" + subject + "}:once:" + once
}

// OnceFlag is the first argument that records only if the marker is absent,
// and sets it for ttlMs.
func OnceFlag(ttlMs int64) string { return "o" + strconv.FormatInt(ttlMs, 10) }

// Args are the script's arguments for n windows: record (1) or peek (0), n,
// then the granularity (ms), bucket count and limit of each window i.
func Args(record bool, n int, window func(i int) (granularityMs int64, buckets, limit int)) []any {
	args := make([]any, 0, 2+3*n)
	flag := "0"
	if record {
		flag = "1"
	}
	args = append(args, flag, strconv.Itoa(n))
	for i := range n {
		g, b, l := window(i)
		args = append(args, strconv.FormatInt(g, 10), strconv.Itoa(b), strconv.Itoa(l))
	}
	return args
}
