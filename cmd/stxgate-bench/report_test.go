package main

import "testing"

func TestRoundRatiosListsEveryRoundInOrder(t *testing.T) {
	if got, want := roundRatios([]float64{0.654, 1.29, 1.306}), "0.65 ×, 1.29 ×, 1.31 ×"; got != want {
		t.Fatalf("roundRatios = %q, want %q", got, want)
	}
	if got := roundRatios(nil); got != "" {
		t.Fatalf("roundRatios(nil) = %q, want empty", got)
	}
}

func TestRoundChangesSignsEveryRound(t *testing.T) {
	if got, want := roundChanges([]float64{0.04, -0.021, 0.531}), "+4 %, -2 %, +53 %"; got != want {
		t.Fatalf("roundChanges = %q, want %q", got, want)
	}
}

func TestMachineCPUKeepsStealOutOfBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, steal, total := machineCPU("cpu  1000 100 500 3000 200 0 300 400 50 5")
	if busy != 19 || steal != 4 || total != 55 { // (1000+100+500+0+300)/100, 400/100, all but guest
		t.Fatalf("machineCPU = busy %v, steal %v, total %v; want 19, 4, 55", busy, steal, total)
	}
	if busy, steal, total := machineCPU(""); busy != 0 || steal != 0 || total != 0 {
		t.Fatalf("machineCPU(\"\") = %v %v %v, want zeros", busy, steal, total)
	}
}
