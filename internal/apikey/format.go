package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"strings"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// A key reads ck_live_<body><check>: body is 32 random bytes in base62, padded to
// 43 characters; check is the CRC-32 of everything before it, in 6 base62
// characters. The checksum lets secret scanners and the gateway refuse a
// mistyped key without a database read; it is not a secret and adds no security.
const (
	PrefixLive = "ck_live_"
	PrefixTest = "ck_test_"

	secretBytes = 32
	bodyLen     = 43 // ceil(256 / log2(62))
	checkLen    = 6  // 62^6 > 2^32
	keyLen      = len(PrefixLive) + bodyLen + checkLen

	// DisplayLen is how much of a key is kept in clear to tell keys apart.
	DisplayLen = len(PrefixLive) + 8
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// isBase62 tells base62's characters by byte: ParseSecret checks every
// character of every keyed request's key, and a search of base62 for each
// took 90 of its 215 ns (BenchmarkParseSecret).
var isBase62 = func() (t [256]bool) {
	for i := 0; i < len(base62); i++ {
		t[base62[i]] = true
	}
	return t
}()

// Hash is the SHA-256 of a full key: the only form stored at rest.
type Hash [sha256.Size]byte

// Secret is a parsed, checksum-valid key.
type Secret struct {
	raw string
}

// PrefixFor is the key prefix of a network: keys of one network never work on the other.
func PrefixFor(n stacks.Network) string {
	if n == stacks.Testnet {
		return PrefixTest
	}
	return PrefixLive
}

// Generate makes a new key for network n from r (crypto/rand in production).
func Generate(r io.Reader, n stacks.Network) (Secret, error) {
	buf := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Secret{}, fmt.Errorf("read random: %w", err)
	}
	body := encodeBase62(buf, bodyLen)
	head := PrefixFor(n) + body
	return Secret{raw: head + checksum(head)}, nil
}

// NewSecret generates a key with crypto/rand.
func NewSecret(n stacks.Network) (Secret, error) { return Generate(rand.Reader, n) }

// ParseSecret checks a presented key's shape, network prefix and checksum.
// It does no I/O: a key that fails here cannot exist.
func ParseSecret(s string, n stacks.Network) (Secret, error) {
	if len(s) != keyLen {
		return Secret{}, fmt.Errorf("key length %d, want %d", len(s), keyLen)
	}
	if !strings.HasPrefix(s, PrefixFor(n)) {
		if other := otherNetwork(n); strings.HasPrefix(s, PrefixFor(other)) {
			if _, err := ParseSecret(s, other); err == nil {
				return Secret{}, fmt.Errorf("a %s key on %s: %w", other, n, ErrOtherNetwork)
			}
		}
		return Secret{}, fmt.Errorf("key prefix is not %q", PrefixFor(n))
	}
	for i := len(PrefixLive); i < len(s); i++ {
		if !isBase62[s[i]] {
			return Secret{}, fmt.Errorf("key has a character outside base62 at %d", i)
		}
	}
	head, check := s[:len(s)-checkLen], s[len(s)-checkLen:]
	if sum := checksumDigits(head); subtle.ConstantTimeCompare(sum[:], []byte(check)) != 1 {
		return Secret{}, fmt.Errorf("key checksum mismatch")
	}
	return Secret{raw: s}, nil
}

// ErrOtherNetwork is a well-formed key of the other network (ck_test_ on
// mainnet, ck_live_ on testnet).
var ErrOtherNetwork = errors.New("key of the other network")

func otherNetwork(n stacks.Network) stacks.Network {
	if n == stacks.Mainnet {
		return stacks.Testnet
	}
	return stacks.Mainnet
}

// SecretError is the public answer to a key ParseSecret refused: a
// well-formed key of the other network says so (the key is never echoed);
// anything else is "Invalid API key".
func SecretError(err error, n stacks.Network) error {
	if errors.Is(err, ErrOtherNetwork) {
		return fault.Unauthenticated("API key is for another network").WithCode(fault.CodeAPIKeyWrongNetwork).
			WithDetails(map[string]any{"keyNetwork": otherNetwork(n).String(), "gatewayNetwork": n.String()}).Wrap(err)
	}
	return ErrInvalidKey.Wrap(err)
}

// String returns the full key. Only the create response may show it.
func (s Secret) String() string { return s.raw }

// Hash is what the store keeps and looks keys up by.
//
// The key is copied to the stack to be hashed: []byte(s.raw) would be a copy
// on the heap (the compiler's stack buffer for it is 32 bytes; a key is 57).
func (s Secret) Hash() Hash {
	var buf [keyLen]byte
	return sha256.Sum256(append(buf[:0], s.raw...))
}

// Display is the short clear prefix used to tell keys apart in lists.
func (s Secret) Display() string { return s.raw[:DisplayLen] }

// checksum is the check digits of a key's head.
func checksum(head string) string {
	out := checksumDigits(head)
	return string(out[:])
}

// checksumDigits runs on every keyed request, so it avoids big.Int and
// allocates nothing.
func checksumDigits(head string) [checkLen]byte {
	v := crcIEEE(head)
	var out [checkLen]byte
	for i := checkLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return out
}

// crcIEEE is crc32.ChecksumIEEE of s, by the plain table-driven loop over
// crc32.IEEETable: ChecksumIEEE([]byte(s)) copies s to the heap (its
// argument escapes), and a key's head is only 51 bytes.
func crcIEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// encodeBase62 encodes b as a big-endian number in exactly width digits.
// Only key generation uses it, so big.Int is fine.
func encodeBase62(b []byte, width int) string {
	n := new(big.Int).SetBytes(b)
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}
