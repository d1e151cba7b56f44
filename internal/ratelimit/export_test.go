package ratelimit

import (
	"context"
	"time"
)

// AllowAt and PeekAt run the script on the test's clock instead of Redis TIME.
func (r *Redis) AllowAt(ctx context.Context, subject string, p Policy, now time.Time) (Decision, error) {
	return r.runAt(ctx, subject, p, true, now)
}

func (r *Redis) PeekAt(ctx context.Context, subject string, p Policy, now time.Time) (Decision, error) {
	return r.runAt(ctx, subject, p, false, now)
}

// Keys are the state and generation keys of subject (tests measure them).
func (r *Redis) Keys(subject string) []string { return r.keys(subject) }
