package walletauth_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/redisconn"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/stacks"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func replays(t *testing.T) map[string]walletauth.ReplayStore {
	rdb, prefix := testenv.Redis(t)
	return map[string]walletauth.ReplayStore{
		"Redis":  redisconn.NewReplay(rdb, prefix),
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
	return walletauth.Envelope{Message: msg, Signature: sign(k, msg), WalletAddress: k.Address(stacks.Mainnet).String()}
}

// sign signs msg with a test key (valid, so never an error).
func sign(k *stacks.PrivateKey, msg string) string {
	sig, err := stacks.SignMessage(k, []byte(msg))
	if err != nil {
		panic(err)
	}
	return sig
}

func TestVerifyRules(t *testing.T) {
	v, k := newVerifier(t, "gateway.example")
	ts := now.UnixMilli()
	cases := []struct {
		name string
		msg  string
		want string // public error text, "" for success
	}{
		{"Fresh", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts), ""},
		{"OldestAllowed", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts-300000), ""},
		{"TooOld", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts-300001), "Message expired"},
		{"AheadAllowed", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts+30000), ""},
		{"TooFarAhead", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts+30001), "Message timestamp is in the future"},
		{"NoDomain", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts), "Message domain is required by this gateway"},
		{"OtherDomain", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"evil.example"}`, ts), "Message domain does not match this gateway"},
		{"DomainNotString", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":["gateway.example"]}`, ts), "message.domain has the wrong type"},
		{"MainnetNamed", fmt.Sprintf(`{"action":"list_api_keys","network":"mainnet","timestamp":%d,"domain":"gateway.example"}`, ts), ""},
		{"TestnetNamed", fmt.Sprintf(`{"action":"list_api_keys","network":"testnet","timestamp":%d,"domain":"gateway.example"}`, ts), "Message is for another network"},
		{"NetworkMisspelt", fmt.Sprintf(`{"action":"list_api_keys","network":"Mainnet","timestamp":%d,"domain":"gateway.example"}`, ts), "Message is for another network"},
		{"NetworkNotString", fmt.Sprintf(`{"action":"list_api_keys","network":1,"timestamp":%d,"domain":"gateway.example"}`, ts), "message.network has the wrong type"},
		{"WrongAction", fmt.Sprintf(`{"action":"create_api_key","timestamp":%d}`, ts), `message.action must be "list_api_keys"`},
		{"ActionNotString", fmt.Sprintf(`{"action":1,"timestamp":%d}`, ts), "message.action has the wrong type"},
		{"FractionalTimestamp", `{"action":"list_api_keys","timestamp":1.5}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"NegativeTimestamp", `{"action":"list_api_keys","timestamp":-1}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"ZeroTimestamp", `{"action":"list_api_keys","timestamp":0}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"QuotedTimestamp", fmt.Sprintf(`{"action":"list_api_keys","timestamp":"%d"}`, ts), "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"ExponentTimestamp", `{"action":"list_api_keys","timestamp":17e11}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"HugeTimestamp", `{"action":"list_api_keys","timestamp":99999999999999999999}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"NullTimestamp", `{"action":"list_api_keys","timestamp":null}`, "message.timestamp must be a positive integer of milliseconds since the Unix epoch"},
		{"NoTimestamp", `{"action":"list_api_keys"}`, "message.timestamp is required"},
		{"EscapedNonASCIIAction", fmt.Sprintf(`{"action":"list_api_kéys","timestamp":%d,"domain":"gateway.example"}`, ts), `message.action must be "list_api_keys"`},
		{"EscapedQuoteInDomain", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d,"domain":"gateway.example\""}`, ts), "Message domain does not match this gateway"},
		{"TrailingData", fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d} {}`, ts), "message must be a single JSON object"},
		{"DuplicateAction", fmt.Sprintf(`{"action":"list_api_keys","action":"list_api_keys","timestamp":%d,"domain":"gateway.example"}`, ts), "message has a duplicate key"},
		{"DuplicateNested", fmt.Sprintf(`{"action":"list_api_keys","x":{"a":1,"a":1},"timestamp":%d,"domain":"gateway.example"}`, ts), "message has a duplicate key"},
		{"EscapedAction", fmt.Sprintf(`{"action":"list_api_\u006beys","timestamp":%d,"domain":"gateway.example"}`, ts), `message must not \u-escape printable ASCII characters`},
		{"EscapedNonASCIIFine", fmt.Sprintf(`{"action":"list_api_keys","note":"caf\u00e9","timestamp":%d,"domain":"gateway.example"}`, ts), ""},
		{"LoneSurrogate", fmt.Sprintf(`{"action":"list_api_keys","note":"\ud800","timestamp":%d,"domain":"gateway.example"}`, ts), "message must be valid UTF-8 (no unpaired surrogates)"},
		{"InvalidUTF8", fmt.Sprintf("{\"action\":\"list_api_keys\",\"note\":\"\xff\",\"timestamp\":%d,\"domain\":\"gateway.example\"}", ts), "message must be valid UTF-8 (no unpaired surrogates)"},
		{"Array", `[1]`, "message must be a JSON object"},
		{"Null", `null`, "message must be a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := v.Verify(context.Background(), env(k, tc.msg), walletauth.ActionListKeys)
			if tc.want == "" {
				if err != nil || m.Wallet.String() != k.Address(stacks.Mainnet).String() || m.Address() != m.Wallet.String() || m.Raw != tc.msg {
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

// On testnet every message must name its network; on mainnet naming it is
// optional. A message signed for one network never passes on the other,
// although the SP and ST addresses of one key share their hash160.
func TestNetworkBinding(t *testing.T) {
	k, err := stacks.ParsePrivateKey("73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801")
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	verifier := func(n stacks.Network) *walletauth.Verifier {
		return walletauth.NewVerifier(walletauth.Config{Network: n, Window: 5 * time.Minute, Skew: 30 * time.Second},
			walletauth.NewMemoryReplay(clock), clock)
	}
	ts := now.UnixMilli()
	cases := []struct {
		name    string
		network stacks.Network
		msg     string
		want    string
		details map[string]any
	}{
		{"MainnetWithout", stacks.Mainnet, fmt.Sprintf(`{"action":"create_api_key","timestamp":%d}`, ts), "", nil},
		{"MainnetNamed", stacks.Mainnet, fmt.Sprintf(`{"action":"create_api_key","network":"mainnet","timestamp":%d}`, ts), "", nil},
		{"MainnetGetsTestnetMessage", stacks.Mainnet, fmt.Sprintf(`{"action":"create_api_key","network":"testnet","timestamp":%d}`, ts),
			"Message is for another network", map[string]any{"messageNetwork": "testnet", "gatewayNetwork": "mainnet"}},
		{"TestnetNamed", stacks.Testnet, fmt.Sprintf(`{"action":"create_api_key","network":"testnet","timestamp":%d}`, ts), "", nil},
		{"TestnetWithout", stacks.Testnet, fmt.Sprintf(`{"action":"create_api_key","timestamp":%d}`, ts),
			`Message network is required on testnet ("network":"testnet")`, map[string]any{"gatewayNetwork": "testnet"}},
		{"TestnetGetsMainnetMessage", stacks.Testnet, fmt.Sprintf(`{"action":"create_api_key","network":"mainnet","timestamp":%d}`, ts),
			"Message is for another network", map[string]any{"messageNetwork": "mainnet", "gatewayNetwork": "testnet"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := walletauth.Envelope{Message: tc.msg, Signature: sign(k, tc.msg), WalletAddress: k.Address(tc.network).String()}
			m, err := verifier(tc.network).Verify(context.Background(), e, walletauth.ActionCreateKey)
			if tc.want == "" {
				if err != nil || m.Wallet.String() != e.WalletAddress {
					t.Fatalf("got %v, %v", m, err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Public != tc.want || fe.Kind != fault.KindUnauthenticated || fmt.Sprint(fe.Details) != fmt.Sprint(tc.details) {
				t.Fatalf("error %v (details %v), want %q %v", err, fe.Details, tc.want, tc.details)
			}
		})
	}
}

// Refusals say why: the address the signature recovers, the window and the
// server's clock, and a hint when the timestamp is in seconds.
func TestRefusalDetails(t *testing.T) {
	v, k := newVerifier(t, "")
	other, _ := stacks.ParsePrivateKey("7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801")
	msg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, now.UnixMilli())
	e := walletauth.Envelope{Message: msg, Signature: sign(other, msg), WalletAddress: k.Address(stacks.Mainnet).String()}
	_, err := v.Verify(context.Background(), e, walletauth.ActionListKeys)
	fe, _ := fault.As(err)
	want := map[string]any{
		"claimedAddress":   k.Address(stacks.Mainnet).String(),
		"recoveredAddress": other.Address(stacks.Mainnet).String(),
		"reason":           "the signature recovers another wallet: a different key signed, or it signed other text than message (sign the exact message string)",
	}
	if fe == nil || fe.Public != "Invalid signature" || fmt.Sprint(fe.Details) != fmt.Sprint(want) {
		t.Fatalf("got %v %v", err, fe.Details)
	}
	if strings.Contains(fmt.Sprint(fe.Details), e.Signature) {
		t.Fatal("details echo the signature")
	}

	secs := now.Unix()
	_, err = v.Verify(context.Background(), env(k, fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, secs)), walletauth.ActionListKeys)
	fe, _ = fault.As(err)
	want = map[string]any{"messageTimestamp": secs, "serverTime": now.UnixMilli(), "windowSeconds": 300, "skewSeconds": 30,
		"hint": "timestamp looks like seconds; send milliseconds since the Unix epoch"}
	if fe == nil || fe.Public != "Message expired" || fmt.Sprint(fe.Details) != fmt.Sprint(want) {
		t.Fatalf("got %v %v", err, fe.Details)
	}
	late := now.Add(time.Hour).UnixMilli()
	_, err = v.Verify(context.Background(), env(k, fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, late)), walletauth.ActionListKeys)
	fe, _ = fault.As(err)
	want = map[string]any{"messageTimestamp": late, "serverTime": now.UnixMilli(), "windowSeconds": 300, "skewSeconds": 30}
	if fe == nil || fe.Public != "Message timestamp is in the future" || fmt.Sprint(fe.Details) != fmt.Sprint(want) {
		t.Fatalf("got %v %v", err, fe.Details)
	}
}

// Once a wallet's key is known (keys.go), its next signatures are checked
// against it, then against its table: every refusal is still the one a
// verifier that never saw the wallet gives (high S, another recovery id,
// another key, another text), and a valid one is still accepted with the
// same key.
func TestKnownKeyChangesNoOutcome(t *testing.T) {
	seasoned, k := newVerifier(t, "")
	ctx := context.Background()
	msg := func(i int) string {
		return fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, now.UnixMilli()-int64(i))
	}
	if _, err := seasoned.Verify(ctx, env(k, msg(0)), walletauth.ActionListKeys); err != nil {
		t.Fatal(err)
	}
	other, err := stacks.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	sigs := func(i int) map[string]string {
		sig, err := stacks.SignHash(k, stacks.HashMessage([]byte(msg(i))))
		if err != nil {
			t.Fatal(err)
		}
		n := new(big.Int).Sub(secp256k1.Params().N, new(big.Int).SetBytes(sig.S[:]))
		high := sig
		n.FillBytes(high.S[:])
		high.RecoveryID ^= 1
		flipped := sig
		flipped.RecoveryID ^= 1
		return map[string]string{
			"valid": sig.String(), "high-s": high.String(), "other-v": flipped.String(),
			"other-key": sign(other, msg(i)), "other-text": sign(k, msg(i)+" "),
		}
	}
	for i := 1; i <= walletauth.TableAfter+2; i++ {
		for name, sig := range sigs(i) {
			e := env(k, msg(i))
			e.Signature = sig
			fresh, _ := newVerifier(t, "")
			want, wantErr := fresh.Verify(ctx, e, walletauth.ActionListKeys)
			got, err := seasoned.Verify(ctx, e, walletauth.ActionListKeys)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || (err == nil) != (name == "valid") {
				t.Fatalf("%d %s: %v, a fresh verifier says %v", i, name, err, wantErr)
			}
			if err == nil && string(got.PublicKey) != string(want.PublicKey) {
				t.Fatalf("%d %s: key %x, want %x", i, name, got.PublicKey, want.PublicKey)
			}
			if fe, ok := fault.As(err); ok && fmt.Sprint(fe.Details) != fmt.Sprint(mustFault(t, wantErr).Details) {
				t.Fatalf("%d %s: details %v, want %v", i, name, fe.Details, mustFault(t, wantErr).Details)
			}
		}
	}
}

func mustFault(t *testing.T, err error) *fault.Error {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("%v is not a fault", err)
	}
	return fe
}
