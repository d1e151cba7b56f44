package main

import "time"

// phase is one kind of load.
type phase string

const (
	phaseKeyed   phase = "keyed"   // GET /api/v1/api-keys/self with X-API-Key
	phaseSigned  phase = "signed"  // GET /api/v1/api-keys with a wallet signature
	phaseCreate  phase = "create"  // POST /api/v1/orders/new, a new signed order each
	phaseExecute phase = "execute" // POST /api/v1/orders/:uuid/execute, a fresh open order each
	phaseMixed   phase = "mixed"   // all four, weighted as mixWeights
)

var phases = []phase{phaseKeyed, phaseSigned, phaseCreate, phaseExecute, phaseMixed}

// mixWeights is the mixed phase in percent: mostly keyed reads, as bots poll.
var mixWeights = map[phase]int{phaseKeyed: 55, phaseSigned: 15, phaseCreate: 15, phaseExecute: 15}

// plan is how a duration is spent: a warm-up of every phase at full speed,
// then rounds of every phase at half its capacity, each phase slice run as
// wrk chunks of at most 10 s (one sample after each).
type plan struct {
	warmup time.Duration // per phase
	rounds int
	chunks int           // per phase slice
	chunk  time.Duration // whole seconds (wrk's -d)
}

// maxChunk is the sampling period: one sample after every wrk run.
const maxChunk = 10 * time.Second

// newPlan fits rounds of about 100 s (five phases of 20 s) into d, at least
// two (the verdict compares the first round's end with the last's).
func newPlan(d time.Duration) plan {
	p := plan{rounds: max(2, int(d/(100*time.Second)))}
	slice := d / time.Duration(p.rounds*len(phases))
	p.chunks = int((slice + maxChunk - 1) / maxChunk)
	p.chunk = (slice / time.Duration(p.chunks)).Truncate(time.Second)
	p.warmup = min(maxChunk, max(3*time.Second, (d/20).Truncate(time.Second)))
	return p
}

// measured is the time the rounds take.
func (p plan) measured() time.Duration {
	return time.Duration(p.rounds*len(phases)*p.chunks) * p.chunk
}

// total bounds the whole run's load time (warm-up and rounds).
func (p plan) total() time.Duration {
	return time.Duration(len(phases))*p.warmup + p.measured()
}
