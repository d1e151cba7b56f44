// Package logging builds the gateway's one JSON logger: durations in
// milliseconds with the unit in the key, secrets scrubbed, and go-redis's
// own log lines routed through it.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// New is a JSON logger at level writing to w. A duration attribute
// becomes milliseconds with the unit in its key (latency → latency_ms);
// scrub (config.Config.Scrub; nil: none) hides secrets in the message and
// in every string and error value.
func New(w io.Writer, level slog.Leveler, scrub func(string) string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replacer(scrub)}))
}

func replacer(scrub func(string) string) func([]string, slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindDuration:
			key := a.Key
			if !strings.HasSuffix(key, "_ms") {
				key += "_ms"
			}
			return slog.Float64(key, Millis(a.Value.Duration()))
		case slog.KindString:
			if scrub != nil {
				return slog.String(a.Key, scrub(a.Value.String()))
			}
		case slog.KindAny:
			if err, ok := a.Value.Any().(error); ok && scrub != nil {
				return slog.String(a.Key, scrub(err.Error()))
			}
		}
		return a
	}
}

// Millis is d in milliseconds (microsecond precision), for *_ms attributes.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Redis adapts log for redis.SetLogger: go-redis's plain-text lines (a
// pool that cannot dial, a dropped pub/sub message) become WARN records
// with component "go-redis".
func Redis(log *slog.Logger) RedisLogger { return RedisLogger{log: log} }

// RedisLogger is go-redis's logging interface on a slog.Logger.
type RedisLogger struct{ log *slog.Logger }

// Printf logs one go-redis line.
func (r RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.LogAttrs(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)), slog.String("component", "go-redis"))
}
