package walletauth

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// knownKeyOf is a fresh wallet and its KnownKey.
func knownKeyOf(t *testing.T) (stacks.Address, *stacks.KnownKey) {
	t.Helper()
	k, err := stacks.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := k.Address(stacks.Mainnet)
	_, known, err := stacks.VerifyMessageKnown([]byte("m"), signed(stacks.SignMessage(k, []byte("m"))), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return addr, known
}

// use records n signatures of wallet accepted with its current key, as
// verifyMessage does.
func use(ks *knownKeys, wallet stacks.Address, n int) {
	for range n {
		e, k := ks.get(wallet)
		ks.verified(wallet, e, k, k)
	}
}

// A wallet's key gets a table during its TableAfter-th known-key check,
// not before, and later checks use it.
func TestKnownKeyTableAfterUses(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	wallet, err := stacks.ParseAddress(f.wallet)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= TableAfter+2; i++ {
		f.clock = f.clock.Add(time.Millisecond) // a distinct message: no verified-cache hit
		if _, err := f.v.Verify(ctx, f.envelope(ActionListKeys, ""), ActionListKeys); err != nil {
			t.Fatal(err)
		}
		e, k := f.v.keys.get(wallet)
		if e == nil {
			t.Fatalf("verification %d: no known key", i)
		}
		if want := i >= TableAfter; k.HasTable() != want {
			t.Fatalf("verification %d (known-key check %d): table %t, want %t", i, i, k.HasTable(), want)
		}
		if i > TableAfter && e.lastUsed.Load() != f.clock.UnixNano() {
			t.Fatalf("verification %d: the table was not used", i)
		}
	}
}

// At most TablesSize keys hold a table; when all are taken, a new one
// takes the place of the least recently used only if it was idle for
// TableIdle, else none is built and the count restarts; a wallet that
// leaves the known keys takes its table with it and frees its place.
func TestKnownKeyTablesBounded(t *testing.T) {
	const size, tables = 8, 3
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := t0
	ks := newKnownKeys(size, tables, func() time.Time { return clock })
	wallets := make([]stacks.Address, 0, 2*size)
	add := func() {
		addr, k := knownKeyOf(t)
		ks.verified(addr, nil, nil, k)
		wallets = append(wallets, addr)
	}
	tabled := func(w int) bool { _, k := ks.get(wallets[w]); return k != nil && k.HasTable() }
	uses := func(w int) int32 { e, _ := ks.get(wallets[w]); return e.uses.Load() }
	want := func(step string, with ...int) {
		t.Helper()
		if n := ks.tabledCount(); n != len(with) {
			t.Fatalf("%s: %d tables, want %d", step, n, len(with))
		}
		for _, w := range with {
			if !tabled(w) {
				t.Fatalf("%s: wallet %d has no table", step, w)
			}
		}
	}
	for range size {
		add()
	}
	for w := range tables {
		use(ks, wallets[w], TableAfter)
	}
	want("first three", 0, 1, 2)
	use(ks, wallets[3], TableAfter)
	want("all places busy", 0, 1, 2)
	if uses(3) != 0 {
		t.Fatal("a refused wallet kept its count")
	}
	clock = t0.Add(TableIdle / 2)
	use(ks, wallets[1], 1)
	clock = t0.Add(TableIdle + time.Second) // 0 and 2 idle for TableIdle, 1 not
	use(ks, wallets[3], TableAfter)
	want("0 idle longest", 1, 2, 3)
	if uses(0) != 0 {
		t.Fatal("a key that lost its table kept its count")
	}
	use(ks, wallets[4], TableAfter)
	want("then 2", 1, 3, 4)
	use(ks, wallets[5], TableAfter)
	want("1 used within TableIdle", 1, 3, 4)
	// Eight new wallets push every old one out of the known keys: their
	// tables go with them and their places are free at once.
	for range size {
		add()
	}
	want("old wallets gone")
	for w := size; w < size+tables; w++ {
		use(ks, wallets[w], TableAfter)
	}
	want("places reused", size, size+1, size+2)
}

// A refused signature changes nothing: no entry, no count.
func TestKnownKeyRefusalCountsNothing(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	wallet, _ := stacks.ParseAddress(f.wallet)
	if _, err := f.v.Verify(ctx, f.envelope(ActionListKeys, ""), ActionListKeys); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * TableAfter {
		f.clock = f.clock.Add(time.Millisecond)
		env := f.envelope(ActionListKeys, "")
		env.Message = `{"action":"list_api_keys","timestamp":` + strconv.FormatInt(f.clock.UnixMilli(), 10) + `,"domain":"gw.example","x":` + strconv.Itoa(i) + `}`
		if _, err := f.v.Verify(ctx, env, ActionListKeys); !isFault(err, ErrInvalidSignature) {
			t.Fatalf("a signature of another text: %v", err)
		}
	}
	if e, k := f.v.keys.get(wallet); e.uses.Load() != 0 || k.HasTable() {
		t.Fatalf("refusals counted: %d uses, table %t", e.uses.Load(), k.HasTable())
	}
}

// Under concurrent checks of many wallets the bound holds and every
// wallet's key stays its own.
func TestKnownKeyTablesConcurrent(t *testing.T) {
	const size, tables, wallets = 32, 4, 24
	ks := newKnownKeys(size, tables, time.Now)
	addrs := make([]stacks.Address, wallets)
	keys := make([]*stacks.KnownKey, wallets)
	for i := range addrs {
		addrs[i], keys[i] = knownKeyOf(t)
		ks.verified(addrs[i], nil, nil, keys[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				w := (g*7 + i) % wallets
				e, k := ks.get(addrs[w])
				if !bytes.Equal(k.PublicKey(), keys[w].PublicKey()) {
					t.Errorf("wallet %d: another key", w)
					return
				}
				ks.verified(addrs[w], e, k, k)
			}
		})
	}
	wg.Wait()
	if n := ks.tabledCount(); n == 0 || n > tables {
		t.Fatalf("%d tables, bound %d", n, tables)
	}
}
