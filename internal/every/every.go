// Package every runs a background job on a ticker until its context ends:
// the one loop the gateway's trackers, sweepers, flushers and cleaners share.
package every

import (
	"context"
	"time"
)

// Interval calls job every interval until ctx ends; with now, also once at
// the start. A job that overruns its interval delays the next call (the
// ticker drops ticks) rather than stacking calls up.
func Interval(ctx context.Context, interval time.Duration, now bool, job func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	if now && ctx.Err() == nil {
		job()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ctx.Err() != nil { // both were ready: select chose at random
				return
			}
			job()
		}
	}
}
