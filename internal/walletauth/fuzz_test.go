package walletauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/strictjson"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// FuzzVerifyMessage throws arbitrary message texts, signed by a real key (so
// parsing, not the signature, decides), at the verifier: it never panics,
// refuses only with a 400 or 401 fault whose text never carries the
// signature, and whatever it accepts obeys the rules (action, timestamp
// window, signer, single use). A well-formed message built from the inputs
// must be accepted.
func FuzzVerifyMessage(f *testing.F) {
	f.Add(`{"action":"list_api_keys","timestamp":1795867200000}`, "list_api_keys", int64(0), false)
	f.Add(`{"action":"create_api_key","keyName":"bot","permissions":["create"],"timestamp":1795867199000}`, "create_api_key", int64(-1000), false)
	f.Add(`{"action":"execute_order","uuid":"o-1","timestamp":1795867200000,"domain":"x"}`, "execute_order", int64(29_000), true)
	f.Add(`{"action":"delete_api_key","keyId":"k","timestamp":"1795867200000"}`, "delete_api_key", int64(-299_000), false)
	f.Add(`[{"action":"list_api_keys"}]`, "cancel_order", int64(31_000), false)
	f.Add(`{"action":"list_api_keys","timestamp":1795867200000} {}`, "get_api_key", int64(-301_000), true)
	f.Add(`{"action":"list_api_keys","timestamp":1.5e12}`, "update_api_key", int64(0), false)
	f.Add(``, "", int64(0), false)
	f.Add(`{"action":"list_api_keys","action":"create_api_key","timestamp":1795867200000}`, "create_api_key", int64(0), false)
	f.Add(`{"action":"\u0063reate_api_key","network":"mainnet","timestamp":1795867200000}`, "create_api_key", int64(0), false)
	f.Add(`{"action":"list_api_keys","network":"testnet","timestamp":1795867200000}`, "list_api_keys", int64(0), false)

	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key, err := stacks.ParsePrivateKey("73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801")
	if err != nil {
		f.Fatal(err)
	}
	addr := key.Address(stacks.Mainnet).String()
	cfg := walletauth.Config{Network: stacks.Mainnet, Window: 5 * time.Minute, Skew: 30 * time.Second}
	all := []string{walletauth.ActionCreateKey, walletauth.ActionListKeys, walletauth.ActionGetKey, walletauth.ActionUpdateKey,
		walletauth.ActionDeleteKey, walletauth.ActionExecuteOrder, walletauth.ActionCancelOrder}

	f.Fuzz(func(t *testing.T, raw, action string, offsetMS int64, withPublicKey bool) {
		v := walletauth.NewVerifier(cfg, walletauth.NewMemoryReplay(clock), clock)
		ctx := context.Background()
		check := func(msg string) (*walletauth.Message, error) {
			sig, err := stacks.SignMessage(key, []byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			env := walletauth.Envelope{Message: msg, Signature: sig, WalletAddress: addr}
			if withPublicKey {
				env.PublicKey = fmt.Sprintf("%x", key.PublicKey())
			}
			m, err := v.Verify(ctx, env, all...)
			if err != nil {
				fe, ok := fault.As(err)
				if !ok || (fe.Kind != fault.KindInvalid && fe.Kind != fault.KindUnauthenticated) {
					t.Fatalf("message %q: refused with a non-client error %v", msg, err)
				}
				if strings.Contains(fe.Public, sig) || strings.Contains(fmt.Sprint(fe.Details), sig) {
					t.Fatalf("error text carries the signature")
				}
				return nil, err
			}
			if !contains(all, m.Action) || m.Raw != msg || m.Wallet.String() != addr {
				t.Fatalf("message %q accepted as %+v", msg, m)
			}
			if m.Timestamp.Before(now.Add(-cfg.Window)) || m.Timestamp.After(now.Add(cfg.Skew)) {
				t.Fatalf("message %q accepted outside the window: %s", msg, m.Timestamp)
			}
			if m.Has("domain") {
				t.Fatalf("message %q with a domain accepted by a gateway without one", msg)
			}
			if err := strictjson.CheckObject([]byte(msg)); err != nil {
				t.Fatalf("message %q accepted although it is not strict JSON: %v", msg, err)
			}
			if m.Has("network") {
				var n string
				if err := m.Field("network", &n); err != nil || n != "mainnet" {
					t.Fatalf("message %q for network %q accepted on mainnet", msg, n)
				}
			}
			var again string
			if err := m.Field("action", &again); err != nil || again != m.Action {
				t.Fatalf("action field %q vs %q: %v", again, m.Action, err)
			}
			if err := v.Claim(ctx, m); err != nil {
				t.Fatalf("first claim of %q: %v", msg, err)
			}
			if err := v.Claim(ctx, m); !errors.Is(err, walletauth.ErrReplayed) {
				t.Fatalf("second claim of %q: %v, want replayed", msg, err)
			}
			return m, nil
		}
		_, _ = check(raw)

		// A message that follows every rule must pass.
		ts := now.Add(time.Duration(offsetMS) * time.Millisecond)
		msg := fmt.Sprintf(`{"action":%q,"timestamp":%d}`, action, ts.UnixMilli())
		_, err := check(msg)
		valid := contains(all, action) && !ts.Before(now.Add(-cfg.Window)) && !ts.After(now.Add(cfg.Skew)) && ts.UnixMilli() > 0
		if valid && err != nil {
			t.Fatalf("well-formed message %q refused: %v", msg, err)
		}
		if !valid && err == nil {
			t.Fatalf("message %q accepted", msg)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
