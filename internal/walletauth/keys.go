package walletauth

import (
	"sync"
	"sync/atomic"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Every distinct signed message of a wallet used to pay a full public-key
// recovery. Once a signature has recovered a wallet's key, the verifier
// keeps it (stacks.KnownKey) and checks the wallet's next signatures
// against it: the same acceptance (recovery id, high S, both prefixes,
// every encoding) and the same errors, since anything the check does not
// accept goes through the full recovery (pkg/stacks/knownkey.go). Only a
// key recovered from a valid signature of the wallet enters; a refused
// signature changes nothing.
//
// A wallet that keeps signing gets a table of its key's multiples
// (stacks.KnownKey.WithTable: ≈ 1 ms to build once, then each check about
// twice as fast) when its known key accepts its TableAfter-th signature, so
// a wallet seen once or twice never pays for one. At most TablesSize keys
// hold a table; a new table takes the place of one not used since the clock
// hand last passed it (second chance), and that key goes back to the plain
// check and must earn its table again. A wallet that leaves the known keys
// takes its table with it: nothing else references the table.

// KnownKeysSize bounds the wallets whose key is kept (≈250 B each), the
// oldest inserted leaving first.
const KnownKeysSize = 4096

// TableAfter is how many signatures a wallet's known key accepts before it
// gets a table: the table is built during the TableAfter-th.
const TableAfter = 3

// TablesSize bounds the keys holding a table: at most 256 × 40 KiB (a
// table's 33,280 bytes, stacks.TableBytes, as the allocator rounds it) =
// 10 MiB.
const TablesSize = 256

// knownEntry is a wallet's key as a valid signature recovered it.
type knownEntry struct {
	key    *stacks.KnownKey                // never modified
	tabled atomic.Pointer[stacks.KnownKey] // key with its table, while it holds a table place
	uses   atomic.Int32                    // signatures accepted by key without a table
	recent atomic.Bool                     // the table accepted a signature since the hand passed
}

// current is the key to check against.
func (e *knownEntry) current() *stacks.KnownKey {
	if t := e.tabled.Load(); t != nil {
		return t
	}
	return e.key
}

// knownKeys maps a wallet to the key a valid signature of it recovered, and
// bounds the tables.
type knownKeys struct {
	entries *boundedMap[stacks.Address, *knownEntry]

	mu     sync.Mutex
	tables []stacks.Address // wallets given a table, in clock order
	filled int              // tables[:filled] are in use
	hand   int
}

func newKnownKeys(size, tables int) *knownKeys {
	return &knownKeys{entries: newBoundedMap[stacks.Address, *knownEntry](size), tables: make([]stacks.Address, tables)}
}

// get is wallet's key to check against, nil when unknown.
func (ks *knownKeys) get(wallet stacks.Address) (*knownEntry, *stacks.KnownKey) {
	e, ok := ks.entries.get(wallet)
	if !ok {
		return nil, nil
	}
	return e, e.current()
}

// verified records that VerifyMessageKnown accepted a signature of wallet
// with used (e's key, or nil when e is nil) and returned k.
func (ks *knownKeys) verified(wallet stacks.Address, e *knownEntry, used, k *stacks.KnownKey) {
	switch {
	case e == nil:
		ks.entries.put(wallet, &knownEntry{key: k})
	case k != used:
		// recovered again (another prefix or encoding): the same key, kept
	case k.HasTable():
		e.recent.Store(true)
	case e.uses.Add(1) == TableAfter:
		ks.giveTable(wallet, e)
	}
}

// giveTable builds e's table and gives it a place, taking the place of a
// table not used since the hand last passed when all are taken.
func (ks *knownKeys) giveTable(wallet stacks.Address, e *knownEntry) {
	if len(ks.tables) == 0 {
		return
	}
	t := e.key.WithTable()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	slot := ks.filled
	if slot < len(ks.tables) {
		ks.filled++
	} else {
		slot = ks.evictTable()
	}
	ks.tables[slot] = wallet
	e.recent.Store(false)
	e.tabled.Store(t)
}

// evictTable frees a place (ks.mu held): the first under the hand whose
// wallet left the known keys, lost its table, or was not used since the
// hand last passed. Two turns at most (the first clears every mark unless
// checks set them again meanwhile; then the place under the hand).
func (ks *knownKeys) evictTable() int {
	for i := 0; ; i++ {
		slot := ks.hand
		ks.hand = (ks.hand + 1) % len(ks.tables)
		e, ok := ks.entries.get(ks.tables[slot])
		if !ok || e.tabled.Load() == nil {
			return slot
		}
		if e.recent.Swap(false) && i < 2*len(ks.tables) {
			continue
		}
		e.tabled.Store(nil)
		e.uses.Store(0)
		return slot
	}
}

// tabledCount is how many known keys hold a table (tests).
func (ks *knownKeys) tabledCount() int {
	ks.entries.mu.Lock()
	defer ks.entries.mu.Unlock()
	n := 0
	for _, e := range ks.entries.entries {
		if e.tabled.Load() != nil {
			n++
		}
	}
	return n
}
