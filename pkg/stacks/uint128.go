package stacks

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// u128 is a 128-bit integer as two words; Clarity int values are stored in
// two's complement. It keeps big.Int out of the order-hashing path.
type u128 struct{ hi, lo uint64 }

// mulAdd10 returns v*10 + d, or false on overflow.
func (v u128) mulAdd10(d uint64) (u128, bool) {
	if v.hi > math.MaxUint64/10 {
		return v, false
	}
	carry, lo := bits.Mul64(v.lo, 10)
	hi, c := bits.Add64(v.hi*10, carry, 0)
	if c != 0 {
		return v, false
	}
	lo, c = bits.Add64(lo, d, 0)
	hi, c = bits.Add64(hi, 0, c)
	if c != 0 {
		return v, false
	}
	return u128{hi, lo}, true
}

// parseDigits parses a non-empty run of ASCII digits (leading zeros allowed).
// It reports ok=false for an empty string, a non-digit or overflow past 2^128-1.
func parseDigits(s string) (v u128, ok bool) {
	if s == "" {
		return v, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return v, false
		}
		if v, ok = v.mulAdd10(uint64(c - '0')); !ok {
			return v, false
		}
	}
	return v, true
}

// neg returns the two's complement negation.
func (v u128) neg() u128 {
	lo, c := bits.Add64(^v.lo, 1, 0)
	hi, _ := bits.Add64(^v.hi, 0, c)
	return u128{hi, lo}
}

// appendBE appends v as 16 big-endian bytes.
func (v u128) appendBE(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, v.hi)
	return binary.BigEndian.AppendUint64(dst, v.lo)
}
