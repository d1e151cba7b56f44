package clienttest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
)

// The SDK rotates a key: the new key works at once, the old one for the
// grace period, and then fails with CodeAPIKeyInactive.
func TestRotateKey(t *testing.T) {
	gw := testgateway.Start(t)
	ctx := context.Background()
	c := gw.Wallet(t, testgateway.Key(t, testgateway.PrivA), client.WithClock(gw.Clock.Now)) // signs on the gateway's clock
	old, _, err := c.CreateKey(ctx, client.CreateKeyRequest{Name: "bot", Permissions: []client.Permission{"execute", "read"}, IPAllowlist: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := c.RotateKey(ctx, old.KeyID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if next.RotatedFrom != old.KeyID || next.KeyID == old.KeyID || next.APIKey == old.APIKey || next.Name != "bot" ||
		len(next.Permissions) != 2 || len(next.IPAllowlist) != 1 || next.IPAllowlist[0] != "127.0.0.1/32" || next.Status != "active" {
		t.Fatalf("rotated key %+v from %+v", next, old)
	}
	self := func(secret string) (*client.SelfKey, error) {
		s, _, err := gw.Client(t, client.WithAPIKey(secret)).Self(ctx)
		return s, err
	}
	if s, err := self(old.APIKey); err != nil || s.RotatedTo != next.KeyID || s.ExpiresAt == nil {
		t.Fatalf("old key during its grace: %+v, %v", s, err)
	}
	if _, err := self(next.APIKey); err != nil {
		t.Fatalf("new key: %v", err)
	}
	gw.Clock.Advance(time.Hour)
	if _, err := self(old.APIKey); apiError(t, err, http.StatusUnauthorized, "API key inactive").Code != client.CodeAPIKeyInactive {
		t.Fatalf("old key after its grace: %v", err)
	}
	if _, err := self(next.APIKey); err != nil {
		t.Fatalf("new key after the grace: %v", err)
	}

	_, _, err = c.RotateKey(ctx, old.KeyID, 0)
	if e := apiError(t, err, http.StatusConflict, "API key already rotated"); e.Code != client.CodeAPIKeyAlreadyRotated || e.Details["rotatedTo"] != next.KeyID {
		t.Fatalf("second rotation: %+v", e)
	}
	for _, bad := range []time.Duration{-time.Second, 25 * time.Hour, 1500 * time.Millisecond} {
		if _, _, err := c.RotateKey(ctx, next.KeyID, bad); err == nil || errors.As(err, new(*client.APIError)) {
			t.Fatalf("grace %v: %v, want a local error", bad, err)
		}
	}
	// Grace 0: the old key is revoked at once.
	third, _, err := c.RotateKey(ctx, next.KeyID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self(next.APIKey); apiError(t, err, http.StatusUnauthorized, "API key inactive").Code != client.CodeAPIKeyInactive {
		t.Fatalf("key rotated without grace: %v", err)
	}
	if _, err := self(third.APIKey); err != nil {
		t.Fatal(err)
	}
}

// A client with only a read key lists its wallet's keys and reads its trail;
// a key without read is refused with CodePermissionDenied.
func TestReadKeyClient(t *testing.T) {
	gw := testgateway.Start(t)
	ctx := context.Background()
	c := gw.Wallet(t, testgateway.Key(t, testgateway.PrivA))
	reader := testgateway.NewKey(t, c, "monitor", "read")
	bot := testgateway.NewKey(t, c, "bot", "execute")
	monitor := gw.Client(t, client.WithAPIKey(reader.APIKey))
	keys, _, err := monitor.ListKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KeyID != reader.KeyID || keys[1].KeyID != bot.KeyID {
		t.Fatalf("keys read with the read key: %+v, %v", keys, err)
	}
	page, _, err := monitor.Audit(ctx, client.AuditQuery{Limit: 10})
	if err != nil || len(page.Events) != 2 || page.Events[0].KeyID != bot.KeyID || page.Events[0].Event != "key.created" {
		t.Fatalf("trail read with the read key: %+v, %v", page, err)
	}
	_, _, err = gw.Client(t, client.WithAPIKey(bot.APIKey)).ListKeys(ctx)
	if e := apiError(t, err, http.StatusForbidden, "API key does not have the read permission"); e.Code != client.CodePermissionDenied {
		t.Fatalf("list with an execute key: %+v", e)
	}
	// Key management needs the wallet: a read key cannot rotate.
	if _, _, err := monitor.RotateKey(ctx, reader.KeyID, 0); !errors.Is(err, client.ErrNoSigner) {
		t.Fatalf("rotate without a signer: %v", err)
	}
	// With both a signer and a key, the wallet signs (the key need not read).
	both := gw.Wallet(t, testgateway.Key(t, testgateway.PrivA), client.WithAPIKey(bot.APIKey))
	if keys, _, err := both.ListKeys(ctx); err != nil || len(keys) != 2 {
		t.Fatalf("signed list: %+v, %v", keys, err)
	}
}
