package stacks

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
)

// Repr returns v as a Clarity literal, the way stacks.js's cvToString writes
// it: -42, u7, true, 0x00ff, "text", u"tëxt", SP…, SP….name, none, (some u1),
// (ok u1), (err u2), (list u1 u2), (tuple (a u1) (b u2)). Tuple fields come in
// serialisation (byte) order. A nil Value is none, as in serialisation. Meant
// for logs and error messages, e.g. a transaction result decoded with
// ParseValueHex.
func Repr(v Value) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v Value) {
	switch x := v.(type) {
	case nil:
		b.WriteString("none")
	case intValue:
		b.WriteString(u128(x).signedBig().String())
	case uintValue:
		b.WriteByte('u')
		b.WriteString(u128(x).big().String())
	case boolValue:
		b.WriteString(strconv.FormatBool(bool(x)))
	case bufferValue:
		b.WriteString("0x")
		b.WriteString(hex.EncodeToString(x.b))
	case asciiValue:
		b.WriteString(strconv.Quote(string(x)))
	case utf8Value:
		b.WriteByte('u')
		b.WriteString(strconv.Quote(string(x)))
	case principalValue:
		b.WriteString(Principal(x).String())
	case optionalValue:
		if x.v == nil {
			b.WriteString("none")
			return
		}
		b.WriteString("(some ")
		writeRepr(b, x.v)
		b.WriteByte(')')
	case responseValue:
		if x.ok {
			b.WriteString("(ok ")
		} else {
			b.WriteString("(err ")
		}
		writeRepr(b, x.v)
		b.WriteByte(')')
	case listValue:
		b.WriteString("(list ") // stacks.js writes "(list )" for an empty list too
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeRepr(b, e)
		}
		b.WriteByte(')')
	case tupleValue:
		b.WriteString("(tuple")
		for _, e := range x {
			b.WriteString(" (")
			b.WriteString(e.name)
			b.WriteByte(' ')
			writeRepr(b, e.v)
			b.WriteByte(')')
		}
		b.WriteByte(')')
	}
}

// big returns v as an unsigned big.Int.
func (v u128) big() *big.Int {
	n := new(big.Int).SetUint64(v.hi)
	n.Lsh(n, 64)
	return n.Or(n, new(big.Int).SetUint64(v.lo))
}

// signedBig returns v read as a two's complement int.
func (v u128) signedBig() *big.Int {
	if v.hi>>63 == 0 {
		return v.big()
	}
	n := v.neg().big()
	return n.Neg(n)
}

// ResponseOf reports whether v is a response and, if it is, whether it is
// (ok …) and what it holds: how to read a contract call's result.
func ResponseOf(v Value) (isResponse, ok bool, inner Value) {
	r, isResponse := v.(responseValue)
	return isResponse, r.ok, r.v
}

// UInt64Of returns the value of a uint that fits in 64 bits.
func UInt64Of(v Value) (uint64, bool) {
	u, ok := v.(uintValue)
	if !ok || u.hi != 0 {
		return 0, false
	}
	return u.lo, true
}

func (v intValue) String() string       { return Repr(v) }
func (v uintValue) String() string      { return Repr(v) }
func (v boolValue) String() string      { return Repr(v) }
func (v bufferValue) String() string    { return Repr(v) }
func (v asciiValue) String() string     { return Repr(v) }
func (v utf8Value) String() string      { return Repr(v) }
func (v principalValue) String() string { return Repr(v) }
func (v optionalValue) String() string  { return Repr(v) }
func (v responseValue) String() string  { return Repr(v) }
func (v listValue) String() string      { return Repr(v) }
func (v tupleValue) String() string     { return Repr(v) }
