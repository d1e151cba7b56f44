package walletauth

import "github.com/stxgate/stxgate/pkg/stacks"

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

// knownKeys maps a wallet to the key a valid signature of it recovered.
type knownKeys = boundedMap[stacks.Address, *stacks.KnownKey]

func newKnownKeys(size int) *knownKeys { return newBoundedMap[stacks.Address, *stacks.KnownKey](size) }
