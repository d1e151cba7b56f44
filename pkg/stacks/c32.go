package stacks

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// c32Alphabet is Crockford base-32 without I, L, O, U, as used by c32check.
const c32Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// c32Value maps a canonical (upper-case) c32 character to its value. The
// normalisations stacks.js applies (lower case, O→0, I/L→1) are refused on
// purpose: an address has exactly one accepted spelling.
func c32Value(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'H':
		return c - 'A' + 10, true
	case c == 'J' || c == 'K':
		return c - 'J' + 18, true
	case c == 'M' || c == 'N':
		return c - 'M' + 20, true
	case 'P' <= c && c <= 'T':
		return c - 'P' + 22, true
	case 'V' <= c && c <= 'Z':
		return c - 'V' + 27, true
	}
	return 0, false
}

// C32Encode encodes data as c32: each leading zero byte becomes one '0', the
// rest is the big-endian number in base 32 without leading zeros. This is the
// c32check / stacks-core encoding, not RFC 4648 base32.
func C32Encode(data []byte) string {
	return string(appendC32(nil, data))
}

// appendC32 appends the c32 encoding of data to dst.
func appendC32(dst, data []byte) []byte {
	zeros := 0
	for zeros < len(data) && data[zeros] == 0 {
		zeros++
	}
	for range zeros {
		dst = append(dst, '0')
	}
	rest := data[zeros:]
	if len(rest) == 0 {
		return dst
	}
	// Emit digits least significant first into the tail of dst, then reverse.
	start := len(dst)
	var acc uint32
	bits := 0
	for i := len(rest) - 1; i >= 0; i-- {
		acc |= uint32(rest[i]) << bits
		bits += 8
		for bits >= 5 {
			dst = append(dst, c32Alphabet[acc&31])
			acc >>= 5
			bits -= 5
		}
	}
	if bits > 0 {
		dst = append(dst, c32Alphabet[acc&31])
	}
	// Drop most significant zero digits (they are at the end before reversal).
	for len(dst) > start && dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	for i, j := start, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	return dst
}

// C32Decode decodes a c32 string. It is strict: only the canonical
// upper-case alphabet is accepted, so C32Encode(C32Decode(s)) == s.
func C32Decode(s string) ([]byte, error) {
	out, err := appendC32Decode(nil, s, 0)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// errC32Char describes the non-canonical character s[i]; offset is where s
// starts inside the string the caller was given.
func errC32Char(s string, i, offset int) error {
	return fmt.Errorf("invalid character %q at position %d (c32 uses upper-case 0-9 A-Z without I, L, O, U)", s[i], i+offset)
}

// appendC32Decode appends the bytes encoded by s to dst. offset only shifts
// the position reported in errors.
func appendC32Decode(dst []byte, s string, offset int) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if _, ok := c32Value(s[i]); !ok {
			return dst, errC32Char(s, i, offset)
		}
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '0' {
		zeros++
	}
	for range zeros {
		dst = append(dst, 0)
	}
	rest := s[zeros:]
	if len(rest) == 0 {
		return dst, nil
	}
	// Bytes least significant first, then reverse and drop leading zeros.
	start := len(dst)
	var acc uint32
	bits := 0
	for i := len(rest) - 1; i >= 0; i-- {
		v, _ := c32Value(rest[i])
		acc |= uint32(v) << bits
		bits += 5
		if bits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			bits -= 8
		}
	}
	if bits > 0 {
		dst = append(dst, byte(acc))
	}
	for len(dst) > start && dst[len(dst)-1] == 0 {
		dst = dst[:len(dst)-1]
	}
	for i, j := start, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	return dst, nil
}

// c32Checksum is sha256(sha256(version || data))[:4].
func c32Checksum(version byte, data []byte) [4]byte {
	var stack [64]byte
	buf := append(append(stack[:0], version), data...)
	first := sha256.Sum256(buf)
	second := sha256.Sum256(first[:])
	return [4]byte(second[:4])
}

// C32CheckEncode encodes version (0..31) and data as c32check: the version
// character followed by c32(data || checksum). A version above 31 cannot be
// written in one character; the result is then "" (which no decoder accepts).
func C32CheckEncode(version byte, data []byte) string {
	if version >= 32 {
		return ""
	}
	return string(appendC32Check(nil, version, data))
}

// appendC32Check appends the c32check encoding; version must be < 32.
func appendC32Check(dst []byte, version byte, data []byte) []byte {
	sum := c32Checksum(version, data)
	var stack [64]byte
	buf := append(append(stack[:0], data...), sum[:]...)
	dst = append(dst, c32Alphabet[version])
	return appendC32(dst, buf)
}

// errC32CheckShort is returned when the payload cannot hold a checksum.
var errC32CheckShort = errors.New("too short for a c32check string")

// C32CheckDecode decodes a c32check string (version character + c32 payload)
// and verifies its checksum. Only the canonical alphabet is accepted.
func C32CheckDecode(s string) (version byte, data []byte, err error) {
	if len(s) < 2 {
		return 0, nil, errC32CheckShort
	}
	v, ok := c32Value(s[0])
	if !ok {
		return 0, nil, errC32Char(s, 0, 0)
	}
	payload, err := appendC32Decode(nil, s[1:], 1)
	if err != nil {
		return 0, nil, err
	}
	if len(payload) < 4 {
		return 0, nil, errC32CheckShort
	}
	n := len(payload) - 4
	if c32Checksum(v, payload[:n]) != [4]byte(payload[n:]) {
		return 0, nil, errors.New("checksum mismatch")
	}
	return v, payload[:n:n], nil
}
