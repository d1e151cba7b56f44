// Package storetest is the conformance suite every store passes: the
// in-memory store and PostgreSQL run the very same tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
)

// NewKeyStore returns an empty store for one test.
type NewKeyStore func(t *testing.T) apikey.Store

var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newKey(id, wallet string, created time.Time) *apikey.Key {
	return &apikey.Key{
		ID:            id,
		WalletAddress: wallet,
		Name:          "key " + id,
		Hash:          sha256.Sum256([]byte(id)),
		Prefix:        "ck_live_" + id,
		Permissions:   []apikey.Permission{apikey.PermExecute, apikey.PermCancel},
		Status:        apikey.StatusActive,
		Limits:        apikey.Limits{Minute: 100, Hour: 1000, Day: 10000},
		CreatedAt:     created,
		UpdatedAt:     created,
	}
}

// mustInsertKey inserts k (at most maxActive active keys of its wallet, with
// event e) or fails t.
func mustInsertKey(t *testing.T, s apikey.Store, k *apikey.Key, maxActive int, e *audit.Event) {
	t.Helper()
	if err := s.InsertKey(context.Background(), k, maxActive, e); err != nil {
		t.Fatal(err)
	}
}

// expectFullUntilRevoke checks that wallet holds limit counted keys: one more
// is refused with ErrTooManyKeys until revoking the key revoke makes room.
func expectFullUntilRevoke(t *testing.T, s apikey.Store, wallet string, limit int, revoke string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := s.InsertKey(ctx, newKey("over-"+wallet, wallet, at), limit, nil); !errors.Is(err, apikey.ErrTooManyKeys) {
		t.Fatalf("key %d: got %v, want ErrTooManyKeys", limit+1, err)
	}
	if _, err := s.UpdateKey(ctx, revoke, func(k *apikey.Key) error { k.Status = apikey.StatusRevoked; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertKey(ctx, newKey("after-revoke-"+wallet, wallet, at), limit, nil); err != nil {
		t.Fatalf("after revoking %s: %v", revoke, err)
	}
}

// RunKeyStore runs the key-store conformance suite.
func RunKeyStore(t *testing.T, newStore NewKeyStore) {
	ctx := context.Background()

	t.Run("InsertAndReadBack", func(t *testing.T) {
		s := newStore(t)
		k := newKey("k1", "SPW1", base)
		k.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
		exp := base.Add(time.Hour)
		k.ExpiresAt = &exp
		if err := s.InsertKey(ctx, k, 25, nil); err != nil {
			t.Fatalf("insert: %v", err)
		}
		byID, err := s.KeyByID(ctx, "k1")
		if err != nil {
			t.Fatalf("by id: %v", err)
		}
		assertKeyEqual(t, byID, k)
		byHash, err := s.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatalf("by hash: %v", err)
		}
		assertKeyEqual(t, byHash, k)
	})

	t.Run("KeyHashesListsKeysStoredSince", func(t *testing.T) {
		s := newStore(t)
		all, newest, err := s.KeyHashes(ctx, time.Time{})
		if err != nil || len(all) != 0 || !newest.IsZero() {
			t.Fatalf("empty store: %d hashes, newest %v, %v; want none, zero time", len(all), newest, err)
		}
		for _, id := range []string{"h1", "h2", "h3"} {
			mustInsertKey(t, s, newKey(id, "SPW1", base), 25, nil)
		}
		all, first, err := s.KeyHashes(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[apikey.Hash]bool{newKey("h1", "", base).Hash: true, newKey("h2", "", base).Hash: true, newKey("h3", "", base).Hash: true}
		if len(all) != 3 || !want[all[0]] || !want[all[1]] || !want[all[2]] || all[0] == all[1] || all[1] == all[2] || all[0] == all[2] {
			t.Fatalf("every key: %x, want the three hashes", all)
		}
		mustInsertKey(t, s, newKey("h4", "SPW1", base), 25, nil)
		since, next, err := s.KeyHashes(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(since, newKey("h4", "", base).Hash) {
			t.Fatalf("since the newest seen: %x; want h4 listed (a key stored later is never missed)", since)
		}
		if next.Before(first) {
			t.Fatalf("newest went back: %v after %v", next, first)
		}
		later, _, err := s.KeyHashes(ctx, next.Add(time.Second))
		if err != nil || len(later) != 0 {
			t.Fatalf("after the newest: %x, %v; want none", later, err)
		}
	})

	t.Run("UnknownKeyNotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.KeyByID(ctx, "nope"); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("by id: got %v, want ErrNotFound", err)
		}
		if _, err := s.KeyByHash(ctx, apikey.Hash{1}); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("by hash: got %v, want ErrNotFound", err)
		}
		if _, err := s.UpdateKey(ctx, "nope", func(*apikey.Key) error { return nil }, nil); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("update: got %v, want ErrNotFound", err)
		}
	})

	t.Run("DuplicateRejected", func(t *testing.T) {
		s := newStore(t)
		mustInsertKey(t, s, newKey("k1", "SPW1", base), 25, nil)
		dupHash := newKey("k2", "SPW1", base)
		dupHash.Hash = sha256.Sum256([]byte("k1"))
		for name, k := range map[string]*apikey.Key{"SameID": newKey("k1", "SPW2", base), "SameHash": dupHash} {
			if err := s.InsertKey(ctx, k, 25, nil); !errors.Is(err, apikey.ErrDuplicate) {
				t.Errorf("%s: got %v, want ErrDuplicate", name, err)
			}
		}
	})

	t.Run("ListByWalletOldestFirst", func(t *testing.T) {
		s := newStore(t)
		for i, id := range []string{"c", "a", "b"} {
			mustInsertKey(t, s, newKey(id, "SPW1", base.Add(time.Duration(i)*time.Second)), 25, nil)
		}
		mustInsertKey(t, s, newKey("other", "SPW2", base), 25, nil)
		keys, err := s.KeysByWallet(ctx, "SPW1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range keys {
			got = append(got, k.ID)
		}
		if fmt.Sprint(got) != "[c a b]" {
			t.Fatalf("order: got %v, want [c a b]", got)
		}
		none, err := s.KeysByWallet(ctx, "SPNOBODY")
		if err != nil || len(none) != 0 {
			t.Fatalf("empty wallet: got %v, %v", none, err)
		}
	})

	t.Run("MaxActiveCountsOnlyActiveUnexpired", func(t *testing.T) {
		s := newStore(t)
		for i := range 2 {
			mustInsertKey(t, s, newKey(fmt.Sprint("a", i), "SPW1", base), 3, nil)
		}
		expired := newKey("expired", "SPW1", base)
		past := base.Add(-time.Second)
		expired.ExpiresAt = &past
		mustInsertKey(t, s, expired, 0, nil)
		if err := s.InsertKey(ctx, newKey("a2", "SPW1", base), 3, nil); err != nil {
			t.Fatalf("third active key: %v", err)
		}
		expectFullUntilRevoke(t, s, "SPW1", 3, "a0", base)
	})

	t.Run("MaxActiveUnderConcurrency", func(t *testing.T) {
		s := newStore(t)
		const max, tries = 5, 40
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				err := s.InsertKey(ctx, newKey(fmt.Sprint("c", i), "SPRACE", base), max, nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, apikey.ErrTooManyKeys):
					refused.Add(1)
				default:
					t.Errorf("insert %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != max || refused.Load() != tries-max {
			t.Fatalf("inserted %d refused %d, want %d and %d", ok.Load(), refused.Load(), max, tries-max)
		}
	})

	t.Run("UpdateAppliesAndKeepsImmutables", func(t *testing.T) {
		s := newStore(t)
		k := newKey("k1", "SPW1", base)
		mustInsertKey(t, s, k, 25, nil)
		at := base.Add(time.Minute)
		got, err := s.UpdateKey(ctx, "k1", func(k *apikey.Key) error {
			k.Name = "renamed"
			k.Permissions = []apikey.Permission{apikey.PermCreate}
			k.RotatedFrom, k.RotatedTo = "k0", "k2" // links are RotateKey's alone
			k.Status = apikey.StatusRevoked
			k.RevokedAt = &at
			k.UpdatedAt = at
			k.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := k.Clone()
		want.Name, want.Permissions, want.Status = "renamed", []apikey.Permission{apikey.PermCreate}, apikey.StatusRevoked
		want.RevokedAt, want.UpdatedAt = &at, at
		want.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
		assertKeyEqual(t, got, want)
		reread, err := s.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		assertKeyEqual(t, reread, want)
	})

	t.Run("UpdateErrorChangesNothing", func(t *testing.T) {
		s := newStore(t)
		k := newKey("k1", "SPW1", base)
		mustInsertKey(t, s, k, 25, nil)
		boom := errors.New("boom")
		if _, err := s.UpdateKey(ctx, "k1", func(k *apikey.Key) error { k.Name = "changed"; return boom }, nil); !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		got, _ := s.KeyByID(ctx, "k1")
		assertKeyEqual(t, got, k)
	})

	t.Run("ConcurrentUpdatesSerialise", func(t *testing.T) {
		s := newStore(t)
		mustInsertKey(t, s, newKey("k1", "SPW1", base), 25, nil)
		const n = 50
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := s.UpdateKey(ctx, "k1", func(k *apikey.Key) error { k.Limits.Day++; return nil }, nil)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, _ := s.KeyByID(ctx, "k1")
		if got.Limits.Day != 10000+n {
			t.Fatalf("day limit %d, want %d (lost updates)", got.Limits.Day, 10000+n)
		}
	})

	t.Run("AddUsageAccumulates", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"k1", "k2"} {
			mustInsertKey(t, s, newKey(id, "SPW1", base), 25, nil)
		}
		t1, t2 := base.Add(time.Minute), base.Add(2*time.Minute)
		err := s.AddUsage(ctx, []apikey.UsageDelta{
			{KeyID: "k1", Usage: apikey.Usage{TotalRequests: 3, SuccessfulRequests: 2, FailedRequests: 1, ExecutionCount: 2}, LastUsedAt: t2},
			{KeyID: "k1", Usage: apikey.Usage{TotalRequests: 1, SuccessfulRequests: 1, CreationCount: 1}, LastUsedAt: t1},
			{KeyID: "k2", Usage: apikey.Usage{TotalRequests: 1, FailedRequests: 1}},
			{KeyID: "gone", Usage: apikey.Usage{TotalRequests: 9}},
		})
		if err != nil {
			t.Fatal(err)
		}
		k1, _ := s.KeyByID(ctx, "k1")
		want := apikey.Usage{TotalRequests: 4, SuccessfulRequests: 3, FailedRequests: 1, CreationCount: 1, ExecutionCount: 2}
		if k1.Usage != want {
			t.Fatalf("k1 usage %+v, want %+v", k1.Usage, want)
		}
		if k1.LastUsedAt == nil || !k1.LastUsedAt.Equal(t2) {
			t.Fatalf("k1 lastUsedAt %v, want %v", k1.LastUsedAt, t2)
		}
		// An older batch never moves lastUsedAt back.
		if err := s.AddUsage(ctx, []apikey.UsageDelta{{KeyID: "k1", Usage: apikey.Usage{TotalRequests: 1, SuccessfulRequests: 1}, LastUsedAt: t1}}); err != nil {
			t.Fatal(err)
		}
		k1, _ = s.KeyByID(ctx, "k1")
		if !k1.LastUsedAt.Equal(t2) || k1.Usage.TotalRequests != 5 {
			t.Fatalf("after old batch: lastUsedAt %v total %d", k1.LastUsedAt, k1.Usage.TotalRequests)
		}
		k2, _ := s.KeyByID(ctx, "k2")
		if k2.LastUsedAt != nil || k2.Usage.FailedRequests != 1 {
			t.Fatalf("k2: %+v lastUsedAt %v", k2.Usage, k2.LastUsedAt)
		}
	})
	runRotate(t, newStore)
}

func assertKeyEqual(t *testing.T, got, want *apikey.Key) {
	t.Helper()
	sameDescription(t, "key", describe(got), describe(want))
}

// sameDescription fails t when a stored thing's description is not the one wanted.
func sameDescription(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s mismatch\n got: %s\nwant: %s", what, got, want)
	}
}

// ts prints a time in UTC at full precision, "nil" for none.
func ts(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.UTC().Format(time.RFC3339Nano)
}

func describe(k *apikey.Key) string {
	return fmt.Sprintf("id=%s wallet=%s name=%q hash=%x prefix=%s perms=%v status=%s limits=%+v allow=%v exp=%s created=%s updated=%s revoked=%s used=%s usage=%+v from=%q to=%q",
		k.ID, k.WalletAddress, k.Name, k.Hash, k.Prefix, k.Permissions, k.Status, k.Limits, k.IPAllowlist,
		ts(k.ExpiresAt), ts(&k.CreatedAt), ts(&k.UpdatedAt), ts(k.RevokedAt), ts(k.LastUsedAt), k.Usage, k.RotatedFrom, k.RotatedTo)
}
