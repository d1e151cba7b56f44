package stacks

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Value is a Clarity value that can be consensus-serialised. The set of
// implementations is closed (see the constructors) so every Value is valid by
// construction. A nil Value serialises as none, so no input makes
// serialisation panic.
type Value interface {
	// AppendSerialized appends the Clarity consensus serialisation.
	AppendSerialized(dst []byte) []byte
	isClarityValue()
}

// Clarity consensus type ids.
const (
	typeInt               = 0x00
	typeUInt              = 0x01
	typeBuffer            = 0x02
	typeTrue              = 0x03
	typeFalse             = 0x04
	typeStandardPrincipal = 0x05
	typeContractPrincipal = 0x06
	typeOk                = 0x07
	typeErr               = 0x08
	typeNone              = 0x09
	typeSome              = 0x0a
	typeList              = 0x0b
	typeTuple             = 0x0c
	typeStringASCII       = 0x0d
	typeStringUTF8        = 0x0e
)

// Clarity limits (stacks-core MAX_VALUE_SIZE and MAX_STRING_LEN).
const (
	maxValueSize   = 1 << 20
	maxClarityName = 128
)

// Serialize returns the Clarity consensus serialisation of v.
func Serialize(v Value) []byte { return appendValue(nil, v) }

// appendValue serialises v, treating nil as none.
func appendValue(dst []byte, v Value) []byte {
	if v == nil {
		return append(dst, typeNone)
	}
	return v.AppendSerialized(dst)
}

// appendLen appends a u32 big-endian length.
func appendLen(dst []byte, n int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(n)) }

// clarityErr wraps ErrClarityValue.
func clarityErr(format string, args ...any) error {
	return fmt.Errorf("stacks: %s: %w", fmt.Sprintf(format, args...), ErrClarityValue)
}

type uintValue u128

func (v uintValue) AppendSerialized(dst []byte) []byte {
	return u128(v).appendBE(append(dst, typeUInt))
}
func (uintValue) isClarityValue() {}

// UInt is a Clarity uint.
func UInt(v uint64) Value { return uintValue{lo: v} }

// UIntFromString parses a decimal uint in 0..2^128-1: digits only, no sign,
// no '+', not empty (leading zeros do not change the value and are allowed).
func UIntFromString(s string) (Value, error) {
	v, ok := parseDigits(s)
	if !ok {
		return nil, clarityErr("uint %s: want decimal digits for 0..2^128-1", quote(s))
	}
	return uintValue(v), nil
}

type intValue u128

func (v intValue) AppendSerialized(dst []byte) []byte {
	return u128(v).appendBE(append(dst, typeInt))
}
func (intValue) isClarityValue() {}

// Int is a Clarity int.
func Int(v int64) Value { return intValue{hi: uint64(v >> 63), lo: uint64(v)} }

// IntFromString parses a decimal int in -2^127..2^127-1: an optional '-' then digits.
func IntFromString(s string) (Value, error) {
	digits, negative := s, false
	if len(s) > 0 && s[0] == '-' {
		digits, negative = s[1:], true
	}
	m, ok := parseDigits(digits)
	const signBit = 1 << 63
	switch {
	case !ok:
	case negative && (m.hi < signBit || m.hi == signBit && m.lo == 0):
		return intValue(m.neg()), nil
	case !negative && m.hi < signBit:
		return intValue(m), nil
	}
	return nil, clarityErr("int %s: want decimal digits for -2^127..2^127-1", quote(s))
}

type boolValue bool

func (v boolValue) AppendSerialized(dst []byte) []byte {
	if v {
		return append(dst, typeTrue)
	}
	return append(dst, typeFalse)
}
func (boolValue) isClarityValue() {}

// Bool is a Clarity bool.
func Bool(v bool) Value { return boolValue(v) }

type bufferValue struct{ b []byte }

func (v bufferValue) AppendSerialized(dst []byte) []byte {
	return append(appendLen(append(dst, typeBuffer), len(v.b)), v.b...)
}
func (bufferValue) isClarityValue() {}

// Buffer is a Clarity buff; b is copied.
func Buffer(b []byte) Value { return bufferValue{b: slices.Clone(b)} }

type asciiValue string

func (v asciiValue) AppendSerialized(dst []byte) []byte {
	return append(appendLen(append(dst, typeStringASCII), len(v)), v...)
}
func (asciiValue) isClarityValue() {}

// StringASCII is a Clarity string-ascii. Clarity allows printable ASCII
// (0x20..0x7e) and the whitespace \t \n \f \r; anything else is refused.
func StringASCII(s string) (Value, error) {
	if len(s) > maxValueSize {
		return nil, clarityErr("string-ascii of %d bytes exceeds %d", len(s), maxValueSize)
	}
	if err := checkASCII(s); err != nil {
		return nil, clarityErr("%v", err)
	}
	return asciiValue(s), nil
}

// checkASCII applies Clarity's string-ascii alphabet.
func checkASCII(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\f' && c != '\r' {
			return fmt.Errorf("string-ascii has byte 0x%02x at %d (printable ASCII and \\t \\n \\f \\r only)", c, i)
		}
	}
	return nil
}

type utf8Value string

func (v utf8Value) AppendSerialized(dst []byte) []byte {
	return append(appendLen(append(dst, typeStringUTF8), len(v)), v...)
}
func (utf8Value) isClarityValue() {}

// StringUTF8 is a Clarity string-utf8; s must be valid UTF-8 (no surrogates).
// Its length prefix counts bytes.
func StringUTF8(s string) (Value, error) {
	if len(s) > maxValueSize {
		return nil, clarityErr("string-utf8 of %d bytes exceeds %d", len(s), maxValueSize)
	}
	if !utf8.ValidString(s) {
		return nil, clarityErr("string-utf8 is not valid UTF-8")
	}
	return utf8Value(s), nil
}

type principalValue Principal

func (v principalValue) AppendSerialized(dst []byte) []byte {
	if v.ContractName == "" {
		dst = append(dst, typeStandardPrincipal, v.Address.Version)
		return append(dst, v.Address.Hash160[:]...)
	}
	dst = append(dst, typeContractPrincipal, v.Address.Version)
	dst = append(dst, v.Address.Hash160[:]...)
	return append(append(dst, byte(len(v.ContractName))), v.ContractName...)
}
func (principalValue) isClarityValue() {}

// PrincipalValue is a Clarity principal. p should come from ParsePrincipal,
// which guarantees a contract name Clarity accepts.
func PrincipalValue(p Principal) Value { return principalValue(p) }

type optionalValue struct{ v Value }

func (o optionalValue) AppendSerialized(dst []byte) []byte {
	if o.v == nil {
		return append(dst, typeNone)
	}
	return o.v.AppendSerialized(append(dst, typeSome))
}
func (optionalValue) isClarityValue() {}

// None is Clarity none.
func None() Value { return optionalValue{} }

// Some is Clarity (some v); Some(nil) is none.
func Some(v Value) Value { return optionalValue{v: v} }

type responseValue struct {
	ok bool
	v  Value
}

func (r responseValue) AppendSerialized(dst []byte) []byte {
	if r.ok {
		return appendValue(append(dst, typeOk), r.v)
	}
	return appendValue(append(dst, typeErr), r.v)
}
func (responseValue) isClarityValue() {}

// Ok is Clarity (ok v).
func Ok(v Value) Value { return responseValue{ok: true, v: v} }

// Err is Clarity (err v).
func Err(v Value) Value { return responseValue{ok: false, v: v} }

type listValue []Value

func (l listValue) AppendSerialized(dst []byte) []byte {
	dst = appendLen(append(dst, typeList), len(l))
	for _, v := range l {
		dst = appendValue(dst, v)
	}
	return dst
}
func (listValue) isClarityValue() {}

// List is a Clarity list. Clarity requires one element type; that is the
// caller's business (a mixed list serialises, but no contract could produce it).
func List(vs ...Value) Value { return listValue(slices.Clone(vs)) }

type tupleEntry struct {
	name string
	v    Value
}

type tupleValue []tupleEntry

func (t tupleValue) AppendSerialized(dst []byte) []byte {
	dst = appendLen(append(dst, typeTuple), len(t))
	for _, e := range t {
		dst = append(append(dst, byte(len(e.name))), e.name...)
		dst = appendValue(dst, e.v)
	}
	return dst
}
func (tupleValue) isClarityValue() {}

// Tuple is a Clarity tuple. Keys are serialised in byte order, as stacks-core
// (a BTreeMap) does; stacks.js sorts with localeCompare instead, which agrees
// only for keys made of [a-z0-9-] — use such keys for anything a wallet signs.
// Each key must be a Clarity name (1..128 characters) and at least one is needed.
func Tuple(fields map[string]Value) (Value, error) {
	if len(fields) == 0 {
		return nil, clarityErr("a tuple needs at least one field")
	}
	t := make(tupleValue, 0, len(fields))
	for name, v := range fields {
		if err := checkClarityName(name); err != nil {
			return nil, clarityErr("tuple key %s: %v", quote(name), err)
		}
		t = append(t, tupleEntry{name: name, v: v})
	}
	slices.SortFunc(t, func(a, b tupleEntry) int { return strings.Compare(a.name, b.name) })
	return t, nil
}

// checkClarityName applies stacks-core's ClarityName rule:
// ^[a-zA-Z]([a-zA-Z0-9]|[-_!?+<>=/*])*$ | ^[-+=/*]$ | ^[<>]=?$, at most 128 bytes.
func checkClarityName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > maxClarityName:
		return fmt.Errorf("name is %d bytes, at most %d allowed", len(name), maxClarityName)
	case name == "-" || name == "+" || name == "=" || name == "/" || name == "*",
		name == "<" || name == ">" || name == "<=" || name == ">=":
		return nil
	case !isASCIILetter(name[0]):
		return fmt.Errorf("name must start with a letter")
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		switch {
		case isASCIILetter(c), isASCIIDigit(c):
		case c == '-', c == '_', c == '!', c == '?', c == '+', c == '<', c == '>', c == '=', c == '/', c == '*':
		default:
			return fmt.Errorf("invalid character %q at %d", c, i)
		}
	}
	return nil
}
