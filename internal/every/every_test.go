package every_test

import (
	"context"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/every"
)

// The job runs on ticks (and first when asked), never after the end: the
// job itself ends the context on its third call, and Interval must return
// without a fourth.
func TestIntervalRunsUntilTheEnd(t *testing.T) {
	for _, now := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		every.Interval(ctx, time.Millisecond, now, func() {
			if calls++; calls == 3 {
				cancel()
			}
		})
		if calls != 3 {
			t.Errorf("now=%v: %d calls, want 3", now, calls)
		}
	}
}

func TestIntervalEndedBeforeTheStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	every.Interval(ctx, time.Hour, true, func() { t.Error("job ran after the end") })
}
