package client

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRetryWaitHonoursTheGateway(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := &Client{now: func() time.Time { return now }, retry429: 3, maxRetryDur: 10 * time.Second}
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
			if got := c.retryWait(tc.rl); got != tc.want {
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

func TestParseBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, base, shown string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"localhost:8080/", "http://localhost:8080", "http://localhost:8080"},
		{" https://gw.example/stxgate/ ", "https://gw.example/stxgate", "https://gw.example/stxgate"},
		{"http://[::1]:8080", "http://[::1]:8080", "http://[::1]:8080"},
		{"https://bot:s3cret@gw.example", "https://bot:s3cret@gw.example", "https://bot:xxxxx@gw.example"},
	} {
		base, shown, err := parseBaseURL(tc.in)
		if err != nil || base != tc.base || shown != tc.shown {
			t.Errorf("parseBaseURL(%q) = %q, %q, %v; want %q, %q", tc.in, base, shown, err, tc.base, tc.shown)
		}
	}
	for _, tc := range []struct{ in, err string }{
		{"", "stxgate: no gateway URL"},
		{"ftp://bot:s3cret@gw.example", `stxgate: gateway URL ftp://bot:xxxxx@gw.example: scheme "ftp", want http or https`},
		{"http://bot:s3cret@[::1", "stxgate: the gateway URL is not a URL (want http[s]://host[:port][/path] or host:port)"},
		{"http://bot:s3cret@gw.example/?x=1", "stxgate: gateway URL http://bot:xxxxx@gw.example/?x=1 has a query or fragment"},
		{"http://", "stxgate: the gateway URL has no host"},
	} {
		_, _, err := parseBaseURL(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("parseBaseURL(%q) error %v, want %q", tc.in, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseBaseURL(%q) error shows the password: %v", tc.in, err)
		}
	}
}
