package keyauth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// keyPath is one gateway's key path, wired as app.New wires it: the key
// service and an authenticator over the same store, the authenticator told
// of every key created and changed.
type keyPath struct {
	keys *apikey.Service
	auth *keyauth.Authenticator
}

// testLimits are the per-key limits of the tests' keys.
var testLimits = apikey.Limits{Minute: 100, Hour: 1000, Day: 10000}

// newKeyPath wires a key path over store and limiter: keys get limits, the
// cache trusts an entry for ttl, now is the clock of both.
func newKeyPath(store apikey.Store, limiter ratelimit.Limiter, limits apikey.Limits, ttl time.Duration, now func() time.Time) keyPath {
	auth := keyauth.New(store, stacks.Mainnet, limiter, keyauth.NewCache(ttl, 1<<20, now), now)
	svc := apikey.NewService(store, apikey.Config{Network: stacks.Mainnet, MaxActivePerWallet: 25, DefaultLimits: limits,
		OnCreate: auth.Announce, OnChange: auth.Invalidate}, now)
	return keyPath{keys: svc, auth: auth}
}

// newKey creates a key of wallet with the execute permission and returns its secret.
func (p keyPath) newKey(tb testing.TB, wallet, name string) (*apikey.Key, apikey.Secret) {
	tb.Helper()
	k, secret, err := p.keys.Create(context.Background(), apikey.CreateInput{Wallet: wallet, Name: name, Permissions: []string{"execute"}})
	if err != nil {
		tb.Fatal(err)
	}
	return k, secret
}

// countingStore counts key lookups by hash (what a random-key flood costs).
type countingStore struct {
	apikey.Store
	lookups atomic.Int32
}

func (s *countingStore) KeyByHash(ctx context.Context, h apikey.Hash) (*apikey.Key, error) {
	s.lookups.Add(1)
	return s.Store.KeyByHash(ctx, h)
}

// failingBumps is the real Redis limiter whose next Bump calls fail, as
// when Redis drops the connection between the database write and the bump.
type failingBumps struct {
	ratelimit.Limiter
	fail atomic.Int32
}

func (f *failingBumps) Bump(ctx context.Context, subject string) (int64, error) {
	if f.fail.Add(-1) >= 0 {
		return 0, ratelimit.ErrUnavailable
	}
	return f.Limiter.Bump(ctx, subject)
}
