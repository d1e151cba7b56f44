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
		if i > TableAfter && !e.recent.Load() {
			t.Fatalf("verification %d: the table was not used", i)
		}
	}
}

// At most TablesSize keys hold a table; a table used since the hand last
// passed keeps its place; a wallet that leaves the known keys takes its
// table with it and its place is the first reused.
func TestKnownKeyTablesBounded(t *testing.T) {
	const size, tables = 8, 3
	ks := newKnownKeys(size, tables)
	wallets := make([]stacks.Address, 0, 2*size)
	add := func() stacks.Address {
		addr, k := knownKeyOf(t)
		ks.verified(addr, nil, nil, k)
		wallets = append(wallets, addr)
		return addr
	}
	hasTable := func(w stacks.Address) bool { _, k := ks.get(w); return k != nil && k.HasTable() }
	for range size {
		add()
	}
	for i, w := range wallets {
		use(ks, w, TableAfter)
		if !hasTable(w) {
			t.Fatalf("wallet %d: no table after %d uses", i, TableAfter)
		}
		if n := ks.tabledCount(); n > tables || n != min(i+1, tables) {
			t.Fatalf("after wallet %d: %d tables, bound %d", i, n, tables)
		}
	}
	// Wallets 5, 6, 7 hold the tables. 6 keeps signing; two new tables take
	// the places of 5 and 7 (unused since the hand passed), never 6's.
	use(ks, wallets[6], 1)
	use(ks, wallets[0], TableAfter)
	use(ks, wallets[1], TableAfter)
	if !hasTable(wallets[6]) || !hasTable(wallets[0]) || !hasTable(wallets[1]) || hasTable(wallets[5]) || hasTable(wallets[7]) {
		t.Fatal("the second chance did not keep the table in use")
	}
	if e, _ := ks.get(wallets[5]); e.uses.Load() != 0 {
		t.Fatal("a key that lost its table kept its count")
	}
	// Eight new wallets push every old one out of the known keys: their
	// tables go with them (nothing else holds a table).
	for range size {
		add()
	}
	if n := ks.tabledCount(); n != 0 {
		t.Fatalf("%d tables outlived their wallets", n)
	}
	for _, w := range wallets[size : size+tables] {
		use(ks, w, TableAfter)
	}
	if n := ks.tabledCount(); n != tables {
		t.Fatalf("%d tables, want %d", n, tables)
	}
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
	ks := newKnownKeys(size, tables)
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
