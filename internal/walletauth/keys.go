package walletauth

import (
	"sync"

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

// KnownKeysSize bounds the wallets whose key is kept (≈250 B each), the
// oldest inserted leaving first.
const KnownKeysSize = 4096

type knownKeys struct {
	mu     sync.Mutex
	keys   map[stacks.Address]*stacks.KnownKey
	ring   []stacks.Address
	next   int
	filled bool
}

func newKnownKeys(size int) *knownKeys {
	return &knownKeys{keys: make(map[stacks.Address]*stacks.KnownKey, size), ring: make([]stacks.Address, size)}
}

func (c *knownKeys) get(a stacks.Address) *stacks.KnownKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[a]
}

func (c *knownKeys) put(a stacks.Address, k *stacks.KnownKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[a]; ok {
		c.keys[a] = k
		return
	}
	if c.filled {
		delete(c.keys, c.ring[c.next])
	}
	c.ring[c.next] = a
	c.keys[a] = k
	if c.next++; c.next == len(c.ring) {
		c.next, c.filled = 0, true
	}
}

func (c *knownKeys) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}
