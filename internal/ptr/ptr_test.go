package ptr_test

import (
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ptr"
)

func TestClone(t *testing.T) {
	if got := ptr.Clone[time.Time](nil); got != nil {
		t.Fatalf("Clone(nil) = %v, want nil", got)
	}
	at := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	got := ptr.Clone(&at)
	if got == &at || !got.Equal(at) {
		t.Fatalf("Clone(&%v) = %p %v, want a new pointer to the same time", at, got, got)
	}
	*got = got.Add(time.Hour)
	if !at.Equal(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("changing the clone changed the original to %v", at)
	}
}
