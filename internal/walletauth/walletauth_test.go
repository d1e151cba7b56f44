package walletauth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/stacks"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func replays(t *testing.T) map[string]walletauth.ReplayStore {
	rdb, prefix := testenv.Redis(t)
	return map[string]walletauth.ReplayStore{
		"Redis":  walletauth.NewRedisReplay(rdb, prefix),
		"Memory": walletauth.NewMemoryReplay(time.Now),
	}
}

// A message is single use across every concurrent claimer.
func TestReplayClaimOnceUnderConcurrency(t *testing.T) {
	for name, store := range replays(t) {
		t.Run(name, func(t *testing.T) {
			var won atomic.Int32
			var wg sync.WaitGroup
			for range 200 {
				wg.Go(func() {
					ok, err := store.Claim(context.Background(), "msg-"+name, time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						won.Add(1)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d claims won, want 1", won.Load())
			}
		})
	}
}

func TestReplayExpires(t *testing.T) {
	for name, store := range replays(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if ok, _ := store.Claim(ctx, "short-"+name, 50*time.Millisecond); !ok {
				t.Fatal("first claim refused")
			}
			if ok, _ := store.Claim(ctx, "short-"+name, 50*time.Millisecond); ok {
				t.Fatal("second claim inside the TTL accepted")
			}
			time.Sleep(120 * time.Millisecond)
			if ok, _ := store.Claim(ctx, "short-"+name, 50*time.Millisecond); !ok {
				t.Fatal("claim after the TTL refused")
			}
		})
	}
}

func newVerifier(t *testing.T, domain string) (*walletauth.Verifier, *stacks.PrivateKey) {
	k, err := stacks.ParsePrivateKey("73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801")
	if err != nil {
		t.Fatal(err)
	}
	v := walletauth.NewVerifier(walletauth.Config{
		Network: stacks.Mainnet, Window: 5 * time.Minute, Skew: 30 * time.Second, Domain: domain,
	}, walletauth.NewMemoryReplay(func() time.Time { return now }), func() time.Time { return now })
	return v, k
}

func env(k *stacks.PrivateKey, msg string) walletauth.Envelope {
	return walletauth.Envelope{Message: msg, Signature: stacks.SignMessage(k, []byte(msg)), WalletAddress: k.Address(stacks.Mainnet).String()}
}

func TestVerifyRules(t *testing.T) {
	v, k := newVerifier(t, "gateway.example")
	ts := now.UnixMilli()
	cases := []struct {
		name string
		msg  string
		want string // public error text, "" for success
	}{
		{"Fresh", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts), ""},
		{"OldestAllowed", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts-300000), ""},
		{"TooOld", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts-300001), "Message expired"},
		{"AheadAllowed", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts+30000), ""},
		{"TooFarAhead", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts+30001), "Message timestamp is in the future"},
		{"OurDomain", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts), ""},
		{"OtherDomain", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"evil.example"}`, ts), "Message domain does not match this gateway"},
		{"WrongAction", fmt.Sprintf(`{"action":"create_api_key","timestamp":%d}`, ts), `message.action must be "list_api_keys"`},
		{"ActionNotString", fmt.Sprintf(`{"action":1,"timestamp":%d}`, ts), "message.action has the wrong type"},
		{"FractionalTimestamp", `{"action":"list_api_keys","timestamp":1.5}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"NegativeTimestamp", `{"action":"list_api_keys","timestamp":-1}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"TrailingData", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d} {}`, ts), "message must be a single JSON object"},
		{"Array", `[1]`, "message must be a JSON object"},
		{"Null", `null`, "message must be a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := v.Verify(context.Background(), env(k, tc.msg), walletauth.ActionListKeys)
			if tc.want == "" {
				if err != nil || m.Wallet.String() != k.Address(stacks.Mainnet).String() || m.Raw != tc.msg {
					t.Fatalf("got %v, %v", m, err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Public != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestClaimIsPerWalletAndMessage(t *testing.T) {
	v, k := newVerifier(t, "")
	msg := fmt.Sprintf(`{"action":"delete_api_key","keyId":"k","timestamp":%d}`, now.UnixMilli())
	m, err := v.Verify(context.Background(), env(k, msg), walletauth.ActionDeleteKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Claim(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := v.Claim(context.Background(), m); !errors.Is(err, walletauth.ErrReplayed) {
		t.Fatalf("second claim: %v", err)
	}
	// The same text signed by another wallet is another message.
	other, _ := stacks.ParsePrivateKey("7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801")
	m2, err := v.Verify(context.Background(), env(other, msg), walletauth.ActionDeleteKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Claim(context.Background(), m2); err != nil {
		t.Fatalf("other wallet's claim: %v", err)
	}
}
