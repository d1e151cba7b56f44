// Package gcheadroom lets the garbage collector run once per headroom bytes
// of allocation instead of once per live heap's worth.
//
// Go's default pacing (GOGC=100) collects when the heap has grown by as much
// as it held live. A gateway's live heap is small (a few MB of caches and
// pools) while every request allocates a few KB, so at a few thousand
// requests a second it collects several times a second; each cycle's mark
// phase, with its stops of the world and write barriers, delays the requests
// in flight, and on two shared cores those delays were most of the gateway's
// p99 above the floor's (bench/README.md). Keeping the next collection at
// least headroom bytes away makes them rare; once the live heap outgrows
// the headroom the percent never drops below 100, Go's default, so a large
// heap is paced exactly as without this package. A memory limit (GOMEMLIMIT)
// still caps the goal: the runtime collects at whichever comes first.
package gcheadroom

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The runtime's goal is live + (live + stacks + globals) × GOGC/100: these
// are the three it counts.
var samples = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// heapMinimum is the runtime's least goal at GOGC=100; it scales with GOGC.
const heapMinimum = 4 << 20

// Percent is the GOGC that puts the next collection headroom bytes past a
// heap of live bytes whose stacks and globals are roots bytes, never below
// 100 (Go's default). The runtime's goal is the larger of live + (live +
// roots) × GOGC/100 and 4 MiB × GOGC/100, so for a heap under 4 MiB the
// second one decides and GOGC is lowered to keep it at live + headroom.
func Percent(headroom, live, roots uint64) int {
	const least = 100
	p := (live + headroom) * 100 / heapMinimum
	if base := live + roots; base > 0 {
		p = min(p, headroom*100/base)
	}
	return int(max(p, least))
}

// Tuner re-sets GOGC after every collection.
type Tuner struct {
	headroom uint64
	sample   []metrics.Sample

	mu      sync.Mutex
	stopped bool
	percent int
	tuned   func(percent int) // tests: called after each adjustment
}

// Start sets GOGC for the current heap and again after each collection,
// until Stop. headroom 0 changes nothing (nil Tuner).
func Start(headroom uint64) *Tuner { return start(headroom, nil) }

// StartUnlessGOGC is Start, unless getenv (os.Getenv) has GOGC set: an
// operator's own GOGC wins, and nothing changes (nil Tuner).
func StartUnlessGOGC(getenv func(string) string, headroom uint64) *Tuner {
	if getenv("GOGC") != "" {
		return nil
	}
	return Start(headroom)
}

func start(headroom uint64, tuned func(int)) *Tuner {
	if headroom == 0 {
		return nil
	}
	t := &Tuner{headroom: headroom, sample: make([]metrics.Sample, len(samples)), tuned: tuned}
	for i, name := range samples {
		t.sample[i].Name = name
	}
	t.adjust()
	t.arm()
	return t
}

// Stop restores Go's default pacing (GOGC=100); a nil Tuner is fine.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	debug.SetGCPercent(100)
}

// Percent is the GOGC the tuner last set.
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// sentinel is an object nothing refers to: a collection finds it dead and
// runs its cleanup, which is how the tuner learns a cycle has ended. It is
// larger than the tiny allocator's 16 bytes so it is never bundled with other
// objects whose liveness would delay it.
type sentinel struct{ _ [32]byte }

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust reads the heap the last cycle left live and sets GOGC for it; false
// once stopped.
func (t *Tuner) adjust() bool {
	metrics.Read(t.sample)
	var v [3]uint64
	for i, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	p := Percent(t.headroom, v[0], v[1]+v[2])
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	if t.tuned != nil {
		t.tuned(p)
	}
	return true
}
