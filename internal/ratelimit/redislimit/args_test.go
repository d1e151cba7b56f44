package redislimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/testenv"
)

// The memoised script arguments are shared by every check of a policy:
// AllowOnce's once flag goes into a copy, so a later Allow still records
// and a later Peek still only reads.
func TestScriptArgsAreSharedUnchanged(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	r := New(rdb, prefix)
	ctx := context.Background()
	p := ratelimit.Policy{ratelimit.MinuteWindow(10), ratelimit.HourWindow(100)}
	want := fmt.Sprint(scriptArgs(p, true))
	if _, err := r.AllowOnce(ctx, "s", p, "marker", time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(r.args.get(p, true)); got != want {
		t.Fatalf("memoised args %s after AllowOnce, want %s", got, want)
	}
	for i, check := range []func() (ratelimit.Decision, error){
		func() (ratelimit.Decision, error) { return r.Allow(ctx, "s", p) },
		func() (ratelimit.Decision, error) { return r.Peek(ctx, "s", p) },
		func() (ratelimit.Decision, error) { return r.Peek(ctx, "s", p) },
	} {
		d, err := check()
		if err != nil {
			t.Fatal(err)
		}
		if d.Windows[0].Remaining != 8 { // AllowOnce and Allow counted, the peeks did not
			t.Fatalf("check %d: remaining %d, want 8", i, d.Windows[0].Remaining)
		}
	}
	other := ratelimit.Policy{ratelimit.MinuteWindow(11), ratelimit.HourWindow(100)}
	if fmt.Sprint(r.args.get(other, true)) != fmt.Sprint(scriptArgs(other, true)) || fmt.Sprint(r.args.get(p, false)) != fmt.Sprint(scriptArgs(p, false)) {
		t.Fatal("another policy or a peek got the memoised arguments of p")
	}
}
