package walletauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// isFault: err is want's public error, possibly wrapping a cause.
func isFault(err error, want *fault.Error) bool {
	var f *fault.Error
	return errors.As(err, &f) && f.Kind == want.Kind && f.Public == want.Public
}

type cacheFixture struct {
	v      *Verifier
	clock  time.Time
	key    *stacks.PrivateKey
	wallet string
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	k, err := stacks.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &cacheFixture{clock: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), key: k, wallet: k.Address(stacks.Mainnet).String()}
	f.v = NewVerifier(Config{Network: stacks.Mainnet, Window: 5 * time.Minute, Skew: 30 * time.Second, Domain: "gw.example"},
		NewMemoryReplay(func() time.Time { return f.clock }), func() time.Time { return f.clock })
	return f
}

// signed unwraps a signature by a test key (valid, so never an error).
func signed(sig string, err error) string {
	if err != nil {
		panic(err)
	}
	return sig
}

func (f *cacheFixture) envelope(action, extra string) Envelope {
	msg := `{"action":"` + action + `","timestamp":` + strconv.FormatInt(f.clock.UnixMilli(), 10) + `,"domain":"gw.example"` + extra + `}`
	return Envelope{Message: msg, Signature: signed(stacks.SignMessage(f.key, []byte(msg))), WalletAddress: f.wallet}
}

// markCached replaces the remembered key of env with a marker, so a Verify
// that returns the marker provably skipped the recovery.
func (f *cacheFixture) markCached(t *testing.T, env Envelope) []byte {
	t.Helper()
	k := cacheKey(env.WalletAddress, env.Signature, env.Message)
	f.v.verified.mu.Lock()
	defer f.v.verified.mu.Unlock()
	e, ok := f.v.verified.entries[k]
	if !ok {
		t.Fatal("verified message not remembered")
	}
	marker := bytes.Repeat([]byte{0xAB}, 33)
	e.pub = marker
	f.v.verified.entries[k] = e
	return marker
}

func TestReusedReadSignatureSkipsRecovery(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	env := f.envelope(ActionListKeys, "")
	first, err := f.v.Verify(ctx, env, ActionListKeys)
	if err != nil {
		t.Fatal(err)
	}
	marker := f.markCached(t, env)
	f.clock = f.clock.Add(4 * time.Minute) // still inside the 5-minute window
	again, err := f.v.Verify(ctx, env, ActionListKeys)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.PublicKey, marker) || again.Wallet.String() != first.Wallet.String() || again.Action != ActionListKeys {
		t.Fatalf("second verify recovered again or lost the message: pub %x", again.PublicKey)
	}
	// A publicKey given with the envelope is still compared with the (cached) key.
	withKey := env
	other, _ := stacks.GeneratePrivateKey()
	withKey.PublicKey = hex.EncodeToString(other.PublicKey())
	if _, err := f.v.Verify(ctx, withKey, ActionListKeys); !isFault(err, ErrPublicKey) {
		t.Fatalf("publicKey check skipped: %v", err)
	}
}

// The cache never stands in for a check other than the recovery.
func TestVerifiedCacheKeepsEveryOtherCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("ExpiredWindow", func(t *testing.T) {
		f := newCacheFixture(t)
		env := f.envelope(ActionListKeys, "")
		if _, err := f.v.Verify(ctx, env, ActionListKeys); err != nil {
			t.Fatal(err)
		}
		f.clock = f.clock.Add(5*time.Minute + time.Millisecond)
		if _, err := f.v.Verify(ctx, env, ActionListKeys); !isFault(err, ErrExpired) {
			t.Fatalf("after the window: %v, want %v", err, ErrExpired)
		}
	})
	t.Run("OtherAction", func(t *testing.T) {
		f := newCacheFixture(t)
		env := f.envelope(ActionListKeys, "")
		if _, err := f.v.Verify(ctx, env, ActionListKeys); err != nil {
			t.Fatal(err)
		}
		_, err := f.v.Verify(ctx, env, ActionDeleteKey)
		if err == nil || err.Error() != `message.action must be "delete_api_key"` {
			t.Fatalf("a cached list message on a delete route: %v", err)
		}
	})
	t.Run("OtherDomain", func(t *testing.T) {
		f := newCacheFixture(t)
		env := f.envelope(ActionListKeys, "")
		if _, err := f.v.Verify(ctx, env, ActionListKeys); err != nil {
			t.Fatal(err)
		}
		f.v.cfg.Domain = "other.example" // the same cached triple, another deployment's rules
		if _, err := f.v.Verify(ctx, env, ActionListKeys); !isFault(err, ErrDomain) {
			t.Fatalf("domain check skipped: %v", err)
		}
	})
	t.Run("OtherWallet", func(t *testing.T) {
		f := newCacheFixture(t)
		env := f.envelope(ActionListKeys, "")
		if _, err := f.v.Verify(ctx, env, ActionListKeys); err != nil {
			t.Fatal(err)
		}
		other, _ := stacks.GeneratePrivateKey()
		env.WalletAddress = other.Address(stacks.Mainnet).String() // same message and signature, another wallet
		if _, err := f.v.Verify(ctx, env, ActionListKeys); !isFault(err, ErrInvalidSignature) {
			t.Fatalf("a cached signature vouched for another wallet: %v", err)
		}
	})
	t.Run("FailedVerificationNotRemembered", func(t *testing.T) {
		f := newCacheFixture(t)
		env := f.envelope(ActionListKeys, "")
		env.Message = env.Message[:len(env.Message)-1] + ` }` // other text than what was signed
		for range 2 {
			if _, err := f.v.Verify(ctx, env, ActionListKeys); !isFault(err, ErrInvalidSignature) {
				t.Fatalf("%v, want %v", err, ErrInvalidSignature)
			}
		}
		if n := f.v.verified.len(); n != 0 {
			t.Fatalf("%d entries after failed verifications", n)
		}
	})
}

// State-changing, single-use actions are never remembered: each is
// recovered, and the replay store still refuses a second claim.
func TestSingleUseActionsNeverCached(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	for _, action := range []string{ActionCreateKey, ActionUpdateKey, ActionDeleteKey, ActionExecuteOrder, ActionCancelOrder} {
		env := f.envelope(action, "")
		m, err := f.v.Verify(ctx, env, action)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.v.Claim(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := f.v.Verify(ctx, env, action); err != nil {
			t.Fatal(err)
		}
		if err := f.v.Claim(ctx, m); !errors.Is(err, ErrReplayed) {
			t.Fatalf("%s claimed twice: %v", action, err)
		}
	}
	if n := f.v.verified.len(); n != 0 {
		t.Fatalf("%d single-use messages remembered", n)
	}
}

// Memory is bounded: the oldest entries leave first.
func TestVerifiedCacheBounded(t *testing.T) {
	c := newVerifiedCache(64)
	exp := time.Now().Add(time.Hour)
	for i := range 200 {
		c.put(cacheKey("SP", strconv.Itoa(i), "m"), verifiedEntry{pub: []byte{byte(i)}, expires: exp, msg: &Message{}})
	}
	if n := c.len(); n != 64 {
		t.Fatalf("%d entries, want 64", n)
	}
	if _, ok := c.get(cacheKey("SP", "135", "m"), time.Now()); ok {
		t.Fatal("an old entry survived")
	}
	if e, ok := c.get(cacheKey("SP", "199", "m"), time.Now()); !ok || e.pub[0] != 199 {
		t.Fatal("the newest entry is missing")
	}
	if _, ok := c.get(cacheKey("SP", "199", "m"), exp); ok {
		t.Fatal("an entry outlived its expiry")
	}
}

// BenchmarkVerifyCachedRead is everything a re-used list signature costs
// besides the recovery it skips: envelope checks, message parse, window.
func BenchmarkVerifyCachedRead(b *testing.B) {
	k, _ := stacks.GeneratePrivateKey()
	clock := time.Now()
	v := NewVerifier(Config{Network: stacks.Mainnet, Window: 5 * time.Minute, Skew: 30 * time.Second},
		NewMemoryReplay(time.Now), func() time.Time { return clock })
	msg := `{"action":"list_api_keys","timestamp":` + strconv.FormatInt(clock.UnixMilli(), 10) + `}`
	env := Envelope{Message: msg, Signature: signed(stacks.SignMessage(k, []byte(msg))), WalletAddress: k.Address(stacks.Mainnet).String()}
	ctx := context.Background()
	if _, err := v.Verify(ctx, env, ActionListKeys); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, env, ActionListKeys); err != nil {
			b.Fatal(err)
		}
	}
}

// The stack and the streaming hash of cacheKey agree: one definition.
func TestCacheKeyOneDefinition(t *testing.T) {
	for _, n := range []int{10, 400, 480, 600, 4096} {
		msg := string(bytes.Repeat([]byte("m"), n))
		want := sha256.Sum256([]byte("SPWALLET\x00sig\x00" + msg))
		if got := cacheKey("SPWALLET", "sig", msg); got != want {
			t.Fatalf("message of %d bytes: %x, want %x", n, got, want)
		}
	}
}

// A re-used read message is counted against its wallet once: its marker
// (ratelimit.Limiter.AllowOnce) is the same on every instance, and an
// instance that counted it remembers, so later uses send nothing.
func TestReadOnceRemembersCounting(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	env := f.envelope(ActionListKeys, "")
	m, err := f.v.Verify(ctx, env, ActionListKeys)
	if err != nil {
		t.Fatal(err)
	}
	marker, ttl, counted := f.v.ReadOnce(m)
	sum := sha256.Sum256([]byte("read\n" + f.wallet + "\n" + env.Message))
	if counted || marker != hex.EncodeToString(sum[:]) || ttl != 5*time.Minute+30*time.Second+time.Second {
		t.Fatalf("first use: %q %v %v", marker, ttl, counted)
	}
	f.v.Counted(m)
	for range 2 {
		again, err := f.v.Verify(ctx, env, ActionListKeys)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, counted := f.v.ReadOnce(again); !counted {
			t.Fatal("a counted message is not remembered as counted")
		}
	}
	// Another instance (its own memory) sends the same marker.
	other := NewVerifier(f.v.cfg, f.v.replay, func() time.Time { return f.clock })
	om, err := other.Verify(ctx, env, ActionListKeys)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, counted := other.ReadOnce(om); counted || got != marker {
		t.Fatalf("other instance: %q %v, want %q false", got, counted, marker)
	}
}
