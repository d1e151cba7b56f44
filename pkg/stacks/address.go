package stacks

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	//lint:ignore SA1019 a Stacks address's hash160 is RIPEMD-160(SHA-256(key)) by definition
	"golang.org/x/crypto/ripemd160"
)

// maxAddressLen bounds the input ParseAddress looks at; real addresses are at most 41 characters.
const maxAddressLen = 64

// Address is a standard Stacks account address: a c32check version and a hash160.
// Addresses are comparable with ==.
type Address struct {
	Version byte
	Hash160 [20]byte
}

// ParseAddress parses a canonical Stacks address ("S" + version character +
// c32check payload). Only the exact spelling String would produce is accepted:
// lower case, O for 0, I/L for 1, a bad checksum, a contract principal, an
// empty or wrongly sized string all fail with ErrMalformedAddress. stacks.js
// normalises some of these; we refuse them so that one account has one name.
func ParseAddress(s string) (Address, error) {
	bad := func(reason string) (Address, error) {
		return Address{}, fmt.Errorf("stacks: address %s: %s: %w", quote(s), reason, ErrMalformedAddress)
	}
	switch {
	case s == "":
		return bad("empty")
	case len(s) > maxAddressLen:
		return bad("too long")
	case strings.IndexByte(s, '.') >= 0:
		return bad("a contract principal, not an account address")
	case s[0] != 'S':
		return bad(`must start with "S"`)
	case len(s) < 3:
		return bad("too short")
	}
	version, ok := c32Value(s[1])
	if !ok {
		return bad(errC32Char(s, 1, 0).Error())
	}
	var buf [32]byte
	payload, err := appendC32Decode(buf[:0], s[2:], 2)
	if err != nil {
		return bad(err.Error())
	}
	if len(payload) != 24 {
		return bad(fmt.Sprintf("wrong length: decodes to %d bytes, want a 20-byte hash160 and a 4-byte checksum", len(payload)))
	}
	var a Address
	a.Version = version
	copy(a.Hash160[:], payload[:20])
	if c32Checksum(version, a.Hash160[:]) != [4]byte(payload[20:]) {
		return bad("checksum mismatch")
	}
	return a, nil
}

// String returns the canonical c32check form, e.g. "SP…". An Address with a
// version above 31 (never produced by this package) renders as "".
func (a Address) String() string {
	if a.Version >= 32 {
		return ""
	}
	var buf [48]byte
	return string(appendC32Check(append(buf[:0], 'S'), a.Version, a.Hash160[:]))
}

// Network maps the version to its network: 22/20 mainnet, 26/21 testnet.
func (a Address) Network() (Network, bool) { return networkOfVersion(a.Version) }

// IsSingleSig reports whether a is a P2PKH (SP/ST) address, the only kind a
// message signature can prove.
func (a Address) IsSingleSig() bool {
	return a.Version == VersionMainnetSingleSig || a.Version == VersionTestnetSingleSig
}

// CheckAddressNetwork returns ErrWrongNetwork unless a belongs to n.
func CheckAddressNetwork(a Address, n Network) error {
	an, ok := a.Network()
	if !ok {
		return fmt.Errorf("stacks: address version %d is neither mainnet nor testnet: %w", a.Version, ErrWrongNetwork)
	}
	if an != n {
		return fmt.Errorf("stacks: %s address on a %s gateway: %w", an, n, ErrWrongNetwork)
	}
	return nil
}

// AddressFromPublicKey derives the P2PKH address of a 33-byte compressed
// public key: hash160 of exactly those bytes. A 65-byte key is refused with
// ErrUncompressedPublicKey because its hash160 (and so its address) differs
// from the compressed key's, which is what every current wallet uses.
func AddressFromPublicKey(pub []byte, n Network) (Address, error) {
	if !n.valid() {
		return Address{}, fmt.Errorf("stacks: %s is neither mainnet nor testnet: %w", n, ErrWrongNetwork)
	}
	if err := checkCompressedKey(pub); err != nil {
		return Address{}, err
	}
	return Address{Version: n.AddressVersion(), Hash160: Hash160(pub)}, nil
}

// checkCompressedKey validates a 33-byte compressed point on the curve.
func checkCompressedKey(pub []byte) error {
	if len(pub) == 65 && (pub[0] == 0x04 || pub[0] == 0x06 || pub[0] == 0x07) {
		return fmt.Errorf("stacks: 65-byte public key; only 33-byte compressed keys are supported: %w", ErrUncompressedPublicKey)
	}
	if len(pub) != 33 {
		return fmt.Errorf("stacks: public key is %d bytes, want 33: %w", len(pub), ErrMalformedPublicKey)
	}
	if pub[0] != 0x02 && pub[0] != 0x03 {
		return fmt.Errorf("stacks: public key prefix 0x%02x, want 0x02 or 0x03: %w", pub[0], ErrMalformedPublicKey)
	}
	if _, err := secp256k1.ParsePubKey(pub); err != nil {
		return fmt.Errorf("stacks: public key is not on secp256k1: %w", ErrMalformedPublicKey)
	}
	return nil
}

// Hash160 is ripemd160(sha256(b)), the hash inside P2PKH addresses.
func Hash160(b []byte) [20]byte {
	sum := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(sum[:])
	var out [20]byte
	h.Sum(out[:0])
	return out
}
