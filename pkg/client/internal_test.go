package client

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRetryWaitHonoursTheGateway(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := New("http://x", WithClock(func() time.Time { return now }), WithRetryOn429(3, 10*time.Second))
	for _, tc := range []struct {
		name string
		rl   RateLimit
		want time.Duration
	}{
		{"RetryAfter", RateLimit{RetryIn: 2 * time.Second, Reset: now.Add(5 * time.Second)}, 2 * time.Second},
		{"ResetWithoutRetryAfter", RateLimit{Reset: now.Add(3 * time.Second)}, 3 * time.Second},
		{"CappedAtMax", RateLimit{RetryIn: time.Minute}, 10 * time.Second},
		{"AtLeast100ms", RateLimit{Reset: now.Add(-time.Second)}, 100 * time.Millisecond},
		{"NothingSaid", RateLimit{}, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.retryWait(&tc.rl); got != tc.want {
				t.Fatalf("retryWait %s, want %s", got, tc.want)
			}
		})
	}
}

func TestASCIIJSONKeepsTheMeaning(t *testing.T) {
	in := map[string]any{"keyName": "clé ☃ 𝄞 <&>", "n": 1}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := asciiJSON(raw)
	for _, c := range out {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte in %s", out)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil || back["keyName"] != in["keyName"] {
		t.Fatalf("round trip: %v %v (%s)", back, err, out)
	}
	if ascii := []byte(`{"a":"b"}`); string(asciiJSON(ascii)) != string(ascii) {
		t.Fatal("ASCII input changed")
	}
}
