package stacks

import (
	"crypto/sha256"
	"encoding/binary"
)

// Message-signing prefixes. Each starts with its own length byte, exactly as
// stacks.js hashes them. Wallets use PrefixCurrent; PrefixLegacy is still
// produced by old wallets and some WalletConnect wallets.
const (
	PrefixCurrent = "\x17Stacks Signed Message:\n"
	PrefixLegacy  = "\x18Stacks Message Signing:\n"
)

// AppendVarint appends n as a Bitcoin CompactSize integer.
func AppendVarint(dst []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(dst, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), n)
}

// HashMessage is the stx_signMessage hash with the current prefix:
// sha256(prefix || varint(len(msg)) || msg).
func HashMessage(msg []byte) [32]byte { return HashMessageWithPrefix(PrefixCurrent, msg) }

// HashMessageWithPrefix is HashMessage with an explicit prefix (PrefixLegacy).
func HashMessageWithPrefix(prefix string, msg []byte) [32]byte {
	// Small messages are hashed from one stack buffer in a single call.
	var stack [512]byte
	if len(prefix)+9+len(msg) <= len(stack) {
		b := append(stack[:0], prefix...)
		b = AppendVarint(b, uint64(len(msg)))
		return sha256.Sum256(append(b, msg...))
	}
	h := sha256.New()
	head := AppendVarint(append(stack[:0], prefix...), uint64(len(msg)))
	h.Write(head)
	h.Write(msg)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
