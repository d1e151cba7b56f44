package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
)

// successor is the new key of a rotation as the service builds it: a new
// id, hash and prefix; the settings come from the old key in fn.
func successor(id string, at time.Time) *apikey.Key {
	return &apikey.Key{
		ID: id, Hash: sha256.Sum256([]byte(id)), Prefix: "ck_live_" + id,
		Status: apikey.StatusActive, CreatedAt: at, UpdatedAt: at,
	}
}

// inherit is the fn of a rotation: next takes old's settings, old ends at
// end (nil: revoked now). A rotated key is not rotated again.
func inherit(end *time.Time, at time.Time) func(old, next *apikey.Key) error {
	return func(old, next *apikey.Key) error {
		if old.RotatedTo != "" {
			return errAlreadyRotated
		}
		next.Name, next.Permissions, next.Limits = old.Name, old.Permissions, old.Limits
		next.IPAllowlist, next.ExpiresAt = old.IPAllowlist, old.ExpiresAt
		if end == nil {
			old.Status, old.RevokedAt = apikey.StatusRevoked, &at
		} else {
			old.ExpiresAt = end
		}
		old.UpdatedAt = at
		return nil
	}
}

var errAlreadyRotated = errors.New("already rotated")

// runRotate is the RotateKey part of RunKeyStore.
func runRotate(t *testing.T, newStore NewKeyStore) {
	ctx := context.Background()
	at := base.Add(time.Hour)

	t.Run("RotateStoresBothKeysLinked", func(t *testing.T) {
		s := newStore(t)
		old := newKey("r1", "SPW1", base)
		old.Permissions = []apikey.Permission{apikey.PermExecute, apikey.PermRead}
		old.Limits = apikey.Limits{Minute: 7, Hour: 70, Day: 700}
		old.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		mustInsertKey(t, s, old, 25, nil)
		end := at.Add(10 * time.Minute)
		next := successor("r2", at)
		got, err := s.RotateKey(ctx, "r1", next, inherit(&end, at), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantOld := old.Clone()
		wantOld.ExpiresAt, wantOld.UpdatedAt, wantOld.RotatedTo = &end, at, "r2"
		assertKeyEqual(t, got, wantOld)
		reread, err := s.KeyByID(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		assertKeyEqual(t, reread, wantOld)

		wantNew := old.Clone()
		wantNew.ID, wantNew.Hash, wantNew.Prefix = "r2", next.Hash, "ck_live_r2"
		wantNew.CreatedAt, wantNew.UpdatedAt, wantNew.RotatedFrom = at, at, "r1"
		byHash, err := s.KeyByHash(ctx, next.Hash)
		if err != nil {
			t.Fatal(err)
		}
		assertKeyEqual(t, byHash, wantNew)
		hashes, _, err := s.KeyHashes(ctx, time.Time{})
		if err != nil || len(hashes) != 2 {
			t.Fatalf("key hashes after a rotation: %d, %v; want both keys", len(hashes), err)
		}
	})

	t.Run("RotateWithoutGraceRevokes", func(t *testing.T) {
		s := newStore(t)
		mustInsertKey(t, s, newKey("r1", "SPW1", base), 25, nil)
		got, err := s.RotateKey(ctx, "r1", successor("r2", at), inherit(nil, at), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != apikey.StatusRevoked || got.RevokedAt == nil || !got.RevokedAt.Equal(at) || got.RotatedTo != "r2" {
			t.Fatalf("old key %s", describe(got))
		}
	})

	t.Run("RotateErrorChangesNothing", func(t *testing.T) {
		s := newStore(t)
		old := newKey("r1", "SPW1", base)
		mustInsertKey(t, s, old, 25, nil)
		boom := errors.New("boom")
		_, err := s.RotateKey(ctx, "r1", successor("r2", at), func(o, n *apikey.Key) error {
			_ = inherit(nil, at)(o, n)
			return boom
		}, nil, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		got, _ := s.KeyByID(ctx, "r1")
		assertKeyEqual(t, got, old)
		if _, err := s.KeyByID(ctx, "r2"); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("new key stored by a failed rotation: %v", err)
		}
		if _, err := s.RotateKey(ctx, "nope", successor("r3", at), inherit(nil, at), nil, nil); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("unknown key: got %v, want ErrNotFound", err)
		}
		// A new key whose hash exists already: nothing changes either.
		clash := successor("r4", at)
		clash.Hash = old.Hash
		if _, err := s.RotateKey(ctx, "r1", clash, inherit(nil, at), nil, nil); !errors.Is(err, apikey.ErrDuplicate) {
			t.Fatalf("duplicate hash: got %v, want ErrDuplicate", err)
		}
		got, _ = s.KeyByID(ctx, "r1")
		assertKeyEqual(t, got, old)
	})

	t.Run("RotatedKeyNoLongerCountsAsActive", func(t *testing.T) {
		s := newStore(t)
		for i := range 2 {
			mustInsertKey(t, s, newKey(fmt.Sprint("m", i), "SPW1", base), 2, nil)
		}
		end := at.Add(time.Hour)
		if _, err := s.RotateKey(ctx, "m0", successor("m0b", at), inherit(&end, at), nil, nil); err != nil {
			t.Fatalf("rotation at the limit: %v", err)
		}
		// m0 is active until end but rotated: m1 and m0b are the two counted.
		expectFullUntilRevoke(t, s, "SPW1", 2, "m1", at)
	})

	t.Run("ConcurrentRotationsOfOneKeyOneWins", func(t *testing.T) {
		s := newStore(t)
		mustInsertKey(t, s, newKey("c0", "SPW1", base), 25, nil)
		const n = 20
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				end := at.Add(time.Minute)
				_, err := s.RotateKey(ctx, "c0", successor(fmt.Sprint("c0-", i), at), inherit(&end, at), nil, nil)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, errAlreadyRotated):
					lost.Add(1)
				default:
					t.Errorf("rotation %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 || lost.Load() != n-1 {
			t.Fatalf("%d rotations won, %d refused; want 1 and %d", won.Load(), lost.Load(), n-1)
		}
		keys, err := s.KeysByWallet(ctx, "SPW1")
		if err != nil || len(keys) != 2 {
			t.Fatalf("wallet holds %d keys, %v; want the old and one new", len(keys), err)
		}
		old, _ := s.KeyByID(ctx, "c0")
		next, err := s.KeyByID(ctx, old.RotatedTo)
		if err != nil || next.RotatedFrom != "c0" {
			t.Fatalf("old key points to %q, which is %v (%v)", old.RotatedTo, next, err)
		}
	})
}
