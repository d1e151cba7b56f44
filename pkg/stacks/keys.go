package stacks

import (
	"encoding/hex"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// PrivateKey is a secp256k1 private key used with its compressed public key,
// as every current Stacks wallet does. Build it with GeneratePrivateKey or
// ParsePrivateKey; a zero PrivateKey signs nothing (SignHash refuses it).
type PrivateKey struct {
	key *secp256k1.PrivateKey
	pub [33]byte // compressed public key, derived once: signing a transaction needs its hash160
}

// newPrivateKey wraps k and derives its public key.
func newPrivateKey(k *secp256k1.PrivateKey) *PrivateKey {
	p := &PrivateKey{key: k}
	p.pub = [33]byte(k.PubKey().SerializeCompressed())
	return p
}

// GeneratePrivateKey returns a new random key from crypto/rand.
func GeneratePrivateKey() (*PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("stacks: generate private key: %w", err)
	}
	return newPrivateKey(k), nil
}

// ParsePrivateKey parses the stacks.js form: 64 hex digits of scalar followed
// by "01" (the compressed-key marker), optional 0x. A bare 64-hex key means an
// uncompressed key to stacks.js, whose address differs, so it is refused
// rather than silently given another address.
func ParsePrivateKey(hexKey string) (*PrivateKey, error) {
	h := trim0x(hexKey)
	switch len(h) {
	case 66:
	case 64:
		return nil, fmt.Errorf("stacks: 64-hex private key is an uncompressed key in stacks.js; only compressed keys (66 hex ending in 01) are supported: %w", ErrMalformedPrivateKey)
	default:
		return nil, fmt.Errorf("stacks: private key is %d hex characters, want 66 (32-byte scalar + 01): %w", len(h), ErrMalformedPrivateKey)
	}
	var raw [33]byte
	if i := decodeHex(raw[:], h); i >= 0 {
		return nil, fmt.Errorf("stacks: private key has a non-hex character at position %d: %w", i, ErrMalformedPrivateKey)
	}
	if raw[32] != 0x01 {
		return nil, fmt.Errorf("stacks: private key suffix 0x%02x, want 01 (compressed); only compressed keys are supported: %w", raw[32], ErrMalformedPrivateKey)
	}
	var scalar secp256k1.ModNScalar
	overflow := scalar.SetBytes((*[32]byte)(raw[:32])) != 0
	clear(raw[:])
	if overflow || scalar.IsZero() {
		return nil, fmt.Errorf("stacks: private key scalar is 0 or not below the curve order: %w", ErrMalformedPrivateKey)
	}
	return newPrivateKey(secp256k1.NewPrivateKey(&scalar)), nil
}

// ok reports whether k holds a key.
func (k *PrivateKey) ok() bool { return k != nil && k.key != nil }

// Hex returns the stacks.js form: 64 hex digits plus the "01" suffix ("" for a zero key).
func (k *PrivateKey) Hex() string {
	if !k.ok() {
		return ""
	}
	return hex.EncodeToString(k.key.Serialize()) + "01"
}

// PublicKey returns the 33-byte compressed public key (nil for a zero key).
func (k *PrivateKey) PublicKey() []byte {
	if !k.ok() {
		return nil
	}
	return append([]byte(nil), k.pub[:]...)
}

// Address returns the key's P2PKH address on n (the zero Address for a zero key).
func (k *PrivateKey) Address(n Network) Address {
	if !k.ok() {
		return Address{}
	}
	return Address{Version: n.AddressVersion(), Hash160: Hash160(k.pub[:])}
}

// SignHash signs hash deterministically (RFC 6979) with low S, like stacks.js
// signMessageHashRsv; RecoveryID is 0 or 1. A nil or zero PrivateKey is an
// error (ErrNoPrivateKey), never a zero signature that a caller could send.
func SignHash(k *PrivateKey, hash [32]byte) (Signature, error) {
	if !k.ok() {
		return Signature{}, ErrNoPrivateKey
	}
	c := ecdsa.SignCompact(k.key, hash[:], true) // header || r || s
	return Signature{
		R:          [32]byte(c[1:33]),
		S:          [32]byte(c[33:65]),
		RecoveryID: c[0] - 27 - 4,
	}, nil
}

// SignMessage signs msg as stx_signMessage does (current prefix) and returns RSV hex.
func SignMessage(k *PrivateKey, msg []byte) (string, error) {
	sig, err := SignHash(k, HashMessage(msg))
	if err != nil {
		return "", err
	}
	return sig.String(), nil
}
