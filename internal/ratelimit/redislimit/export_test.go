package redislimit

import (
	"context"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
)

// AllowAt and PeekAt run the script on the test's clock instead of Redis TIME.
func (r *Limiter) AllowAt(ctx context.Context, subject string, p ratelimit.Policy, now time.Time) (ratelimit.Decision, error) {
	return r.runAt(ctx, subject, p, true, now)
}

func (r *Limiter) PeekAt(ctx context.Context, subject string, p ratelimit.Policy, now time.Time) (ratelimit.Decision, error) {
	return r.runAt(ctx, subject, p, false, now)
}

// Keys are the state and generation keys of subject (tests measure them).
func (r *Limiter) Keys(subject string) []string { return r.keys(subject) }
