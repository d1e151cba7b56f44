package client

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
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

// A HashSigner whose HSM signs with another key, or answers nothing, fails
// locally: no signature that cannot verify is ever sent.
func TestHashSignerChecksTheSignature(t *testing.T) {
	a, err := stacks.ParsePrivateKey("73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801")
	if err != nil {
		t.Fatal(err)
	}
	b, err := stacks.ParsePrivateKey("7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801")
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(k *stacks.PrivateKey) func(context.Context, [32]byte) (string, error) {
		return func(_ context.Context, d [32]byte) (string, error) {
			sig, err := stacks.SignHash(k, d)
			return sig.String(), err
		}
	}
	for name, tc := range map[string]struct {
		sign func(context.Context, [32]byte) (string, error)
		err  string
	}{
		"RightKey": {signWith(a), ""},
		"OtherKey": {signWith(b), "stxgate: hash signer: the signature is not the public key's: stacks: signature was made by SP1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2XG1V316, not SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR: invalid signature"},
		"Empty":    {func(context.Context, [32]byte) (string, error) { return "", nil }, "stxgate: hash signer: the signature is not the public key's: stacks: empty signature: malformed signature"},
		"NoKey":    {signWith(nil), "stacks: no private key to sign with"},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := NewHashSigner(a.PublicKey(), tc.sign)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := h.SignMessage(context.Background(), []byte("hello"))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stacks.VerifyMessage([]byte("hello"), sig, a.Address(stacks.Mainnet)); err != nil {
					t.Fatalf("signature %s: %v", sig, err)
				}
				return
			}
			if sig != "" || err == nil || err.Error() != tc.err {
				t.Fatalf("SignMessage = %q, %v; want no signature and %q", sig, err, tc.err)
			}
		})
	}
}
