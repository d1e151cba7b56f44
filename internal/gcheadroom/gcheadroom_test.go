package gcheadroom

import (
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
)

const mib = 1 << 20

// goal is the runtime's heap goal for GOGC=p (runtime/mgcpacer.go).
func goal(p int, live, roots uint64) uint64 {
	return max(live+(live+roots)*uint64(p)/100, heapMinimum*uint64(p)/100)
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		headroom, live, roots uint64
		want                  int
	}{
		{64 * mib, 6 * mib, mib / 2, 984},   // a gateway's heap: (64 MiB) / (6.5 MiB)
		{64 * mib, 1 * mib, 0, 1625},        // under 4 MiB the heap minimum decides: 4 MiB × 16.25 = 65 MiB
		{64 * mib, 0, 0, 1600},              // before the first cycle
		{64 * mib, 200 * mib, 1 * mib, 100}, // past the headroom: Go's default
		{64 * mib, 64 * mib, 0, 100},
		{1, 6 * mib, 0, 100},
	} {
		if got := Percent(c.headroom, c.live, c.roots); got != c.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", c.headroom, c.live, c.roots, got, c.want)
		}
	}
}

// The goal Percent gives is live + headroom (less the division's rounding:
// one percent of the base), unless that is less than Go's default would give.
func TestPercentPutsTheGoalAtLivePlusHeadroom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		headroom := uint64(r.Int64N(1<<30)) + 1
		live := uint64(r.Int64N(1 << 30))
		roots := uint64(r.Int64N(8 * mib))
		p := Percent(headroom, live, roots)
		g, want := goal(p, live, roots), live+headroom
		if def := goal(100, live, roots); def >= want {
			if p != 100 {
				t.Fatalf("headroom %d live %d roots %d: Percent %d, want Go's 100 (its goal %d is past live+headroom %d)", headroom, live, roots, p, def, want)
			}
			continue
		}
		slack := (live+roots)/100 + heapMinimum/100 + 1
		if g > want || g+slack < want {
			t.Fatalf("headroom %d live %d roots %d: Percent %d puts the goal at %d, want %d (within %d below)", headroom, live, roots, p, g, want, slack)
		}
	}
}

func read(names ...string) []uint64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	out := make([]uint64, len(s))
	for i := range s {
		out[i] = s[i].Value.Uint64()
	}
	return out
}

// After every collection the tuner sets GOGC for the heap that collection
// left, and the runtime's goal follows; Stop gives Go's default back.
func TestTunerFollowsEveryCollection(t *testing.T) {
	tuned := make(chan int, 16)
	tu := start(64*mib, func(p int) {
		select {
		case tuned <- p:
		default:
		}
	})
	t.Cleanup(tu.Stop)
	<-tuned // Start's own adjustment
	for i := range 3 {
		runtime.GC()
		p := <-tuned
		v := read("/gc/gogc:percent", "/gc/heap/goal:bytes", "/gc/heap/live:bytes")
		if int(v[0]) != tu.Percent() {
			t.Fatalf("cycle %d: GOGC is %d, the tuner set %d", i, v[0], tu.Percent())
		}
		if p < 100 {
			t.Fatalf("cycle %d: GOGC %d below Go's default", i, p)
		}
		// The goal is about live + 64 MiB: the live heap a test binary keeps
		// is a few MB, so it cannot be Go's default of about twice that.
		if v[1] < 64*mib || v[1] > v[2]+66*mib {
			t.Fatalf("cycle %d: heap goal %d with %d live, want about live + 64 MiB", i, v[1], v[2])
		}
	}
	tu.Stop()
	if v := read("/gc/gogc:percent"); v[0] != 100 {
		t.Fatalf("after Stop GOGC is %d, want 100", v[0])
	}
	// The cleanup a later cycle runs neither sets GOGC nor re-arms.
	if tu.adjust() {
		t.Fatal("an adjustment after Stop would re-arm")
	}
	if v := read("/gc/gogc:percent"); v[0] != 100 {
		t.Fatalf("an adjustment after Stop set GOGC to %d", v[0])
	}
}

// An operator's GOGC wins: no tuner.
func TestGOGCSetChangesNothing(t *testing.T) {
	env := map[string]string{"GOGC": "200"}
	if tu := StartUnlessGOGC(func(k string) string { return env[k] }, 64*mib); tu != nil {
		tu.Stop()
		t.Fatal("a tuner despite GOGC in the environment")
	}
}

func TestZeroHeadroomChangesNothing(t *testing.T) {
	if tu := Start(0); tu != nil {
		t.Fatal("Start(0) returned a tuner")
	}
	var tu *Tuner
	tu.Stop() // nil is fine
}
