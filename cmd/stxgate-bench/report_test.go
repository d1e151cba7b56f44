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
