package main

import (
	"context"
	"fmt"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

// soak runs the warm-up and the rounds, sampling after every wrk chunk.
func (r *runner) soak(ctx context.Context, p plan) error {
	loadkit.Logf("plan: warm-up %s per phase; %d rounds × %d phases × %d chunk(s) of %s, paced at half capacity",
		p.warmup, p.rounds, len(phases), p.chunks, p.chunk)
	for _, ph := range phases {
		res, err := r.chunk(ctx, ph, p.warmup, 0, "warm-up "+string(ph), true)
		if err != nil {
			return err
		}
		r.capacity[ph] = res.rate
	}
	for round := 1; round <= p.rounds; round++ {
		var last sample
		for _, ph := range phases {
			for range p.chunks {
				s, err := r.chunk(ctx, ph, p.chunk, r.capacity[ph]/2, fmt.Sprintf("r%d %s", round, ph), false)
				if err != nil {
					return err
				}
				last = s
			}
		}
		r.verdicts = append(r.verdicts, last) // every round ends with the same load: comparable
	}
	return nil
}

// chunk runs one wrk chunk and samples after it.
func (r *runner) chunk(ctx context.Context, ph phase, d time.Duration, rate float64, label string, warm bool) (sample, error) {
	res, err := r.wrk(ctx, ph, d, rate)
	if err != nil {
		return sample{}, err
	}
	s, err := r.take(ctx, label, warm, res)
	if err != nil {
		return s, err
	}
	r.samples = append(r.samples, s)
	loadkit.Logf("%-15s %8.0f req/s  p99 %7.2f ms  RSS %6.1f MB  heap live %5.1f MB  goroutines %4d  fds %3d  pg %2d  5xx %d",
		label, s.rate, ms(s.p99), mb(s.rss), mb(s.heapLive), s.goroutines, s.fds, s.pgConns, s.status5xx)
	return s, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(b int64) float64         { return float64(b) / (1 << 20) }
