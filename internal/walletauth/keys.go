package walletauth

import (
	"sync"
	"sync/atomic"
	"time"

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
// hold a table. When all places are taken, a new table takes the place of
// the least recently used one only if that one has not been used for
// TableIdle; otherwise none is built and the wallet's count starts again.
// So more than TablesSize wallets signing at once never churn tables (each
// build would cost ten checks' savings): the first ones keep theirs, the
// others keep the plain known-key check, and a build needs a place idle for
// TableIdle (at most TablesSize builds per TableIdle, whoever signs). A
// wallet that leaves the known keys takes its table with it: the places
// hold addresses, nothing else references the table.

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

// TableIdle is how long a table must have gone unused before another
// wallet's table may take its place.
const TableIdle = time.Minute

// knownEntry is a wallet's key as a valid signature recovered it.
type knownEntry struct {
	key      *stacks.KnownKey                // never modified
	tabled   atomic.Pointer[stacks.KnownKey] // key with its table, while it holds a table place
	uses     atomic.Int32                    // signatures accepted by key without a table
	lastUsed atomic.Int64                    // when the table last accepted a signature (Unix ns)
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
	now     func() time.Time

	mu     sync.Mutex
	tables []stacks.Address // wallets given a table
	filled int              // tables[:filled] are in use
}

func newKnownKeys(size, tables int, now func() time.Time) *knownKeys {
	return &knownKeys{entries: newBoundedMap[stacks.Address, *knownEntry](size), now: now, tables: make([]stacks.Address, tables)}
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
		e.lastUsed.Store(ks.now().UnixNano())
	case e.uses.Add(1) == TableAfter:
		ks.giveTable(wallet, e)
	}
}

// giveTable builds e's table if a place is free or idle for TableIdle (see
// above), else restarts e's count. The build (≈ 1 ms) holds ks.mu, so a
// place and its table are given together; only builds wait on it.
func (ks *knownKeys) giveTable(wallet stacks.Address, e *knownEntry) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	slot := ks.place()
	if slot < 0 {
		e.uses.Store(0)
		return
	}
	ks.tables[slot] = wallet
	e.lastUsed.Store(ks.now().UnixNano())
	e.tabled.Store(e.key.WithTable())
}

// place is a free place (ks.mu held), -1 when none: one never used, one
// whose wallet left the known keys or lost its table, else the least
// recently used one if idle for TableIdle, its table then dropped.
func (ks *knownKeys) place() int {
	if ks.filled < len(ks.tables) {
		ks.filled++
		return ks.filled - 1
	}
	lru, oldest := -1, int64(0)
	var victim *knownEntry
	for i, w := range ks.tables {
		e, ok := ks.entries.get(w)
		if !ok || e.tabled.Load() == nil {
			return i
		}
		if t := e.lastUsed.Load(); lru < 0 || t < oldest {
			lru, oldest, victim = i, t, e
		}
	}
	if lru < 0 || ks.now().UnixNano()-oldest < int64(TableIdle) {
		return -1
	}
	victim.tabled.Store(nil)
	victim.uses.Store(0)
	return lru
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
