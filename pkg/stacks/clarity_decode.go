package stacks

import (
	"encoding/binary"
	"unicode/utf8"
)

// maxValueDepth is stacks-core's MAX_TYPE_DEPTH: how deeply lists, tuples,
// optionals and responses may nest.
const maxValueDepth = 32

// ParseValue decodes one Clarity value in consensus serialisation; b must
// hold exactly that value. Decoding is as strict as stacks-core and stricter
// in one place: tuple keys must come in canonical (byte) order, as Clarity
// writes them, so that serialising the result gives back b exactly. Lists are
// not type-checked (a list mixing element types decodes; the node rejects it
// when it type-checks the call). Errors wrap ErrClarityValue.
func ParseValue(b []byte) (Value, error) {
	r := reader{b: b, sentinel: ErrClarityValue}
	v := r.value(1)
	if r.err == nil && r.left() != 0 {
		r.fail("%d bytes after the value", r.left())
	}
	if r.err != nil {
		return nil, r.err
	}
	return v, nil
}

// ParseValueHex is ParseValue of hex text (optional 0x, either case), the form
// node and API responses use (e.g. a transaction's result).
func ParseValueHex(s string) (Value, error) {
	h := trim0x(s)
	if len(h)%2 != 0 {
		return nil, clarityErr("odd number of hex digits")
	}
	b := make([]byte, len(h)/2)
	if i := decodeHex(b, h); i >= 0 {
		return nil, clarityErr("non-hex character at %d", i)
	}
	return ParseValue(b)
}

// value decodes one value at nesting depth (1 at the top).
func (r *reader) value(depth int) Value {
	at := r.off
	t := r.u8("Clarity type id")
	if r.err != nil {
		return nil
	}
	if depth > maxValueDepth {
		r.failAt(at, "Clarity value nested deeper than %d", maxValueDepth)
		return nil
	}
	switch t {
	case typeInt, typeUInt:
		b := r.take(16, "Clarity integer")
		if b == nil {
			return nil
		}
		v := u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
		if t == typeInt {
			return intValue(v)
		}
		return uintValue(v)
	case typeTrue:
		return boolValue(true)
	case typeFalse:
		return boolValue(false)
	case typeBuffer:
		b := r.take(r.length("buff"), "buff")
		if b == nil {
			return nil
		}
		return bufferValue{b: append([]byte(nil), b...)}
	case typeStringASCII:
		b := r.take(r.length("string-ascii"), "string-ascii")
		if b == nil {
			return nil
		}
		if err := checkASCII(string(b)); err != nil {
			r.failAt(at, "%v", err)
			return nil
		}
		return asciiValue(b)
	case typeStringUTF8:
		b := r.take(r.length("string-utf8"), "string-utf8")
		if b == nil {
			return nil
		}
		if !utf8.Valid(b) {
			r.failAt(at, "string-utf8 is not valid UTF-8")
			return nil
		}
		return utf8Value(string(b))
	case typeStandardPrincipal:
		return principalValue{Address: r.address("standard principal")}
	case typeContractPrincipal:
		a := r.address("contract principal")
		name := r.name("contract name", checkWireContractName)
		return principalValue{Address: a, ContractName: name}
	case typeOk, typeErr:
		inner := r.value(depth + 1)
		return responseValue{ok: t == typeOk, v: inner}
	case typeNone:
		return optionalValue{}
	case typeSome:
		return optionalValue{v: r.value(depth + 1)}
	case typeList:
		n := r.count("list", 1)
		l := make(listValue, 0, n)
		for i := 0; i < n && r.err == nil; i++ {
			l = append(l, r.value(depth+1))
		}
		return l
	case typeTuple:
		return r.tuple(depth)
	}
	r.failAt(at, "unknown Clarity type id 0x%02x", t)
	return nil
}

// length reads a u32 byte length of a buffer or string, at most MAX_VALUE_SIZE.
func (r *reader) length(what string) int {
	at := r.off
	n := r.u32(what + " length")
	if r.err == nil && n > maxValueSize {
		r.failAt(at, "%s of %d bytes exceeds %d", what, n, maxValueSize)
		return 0
	}
	return int(n)
}

// tuple decodes a tuple's entries: at least one, names in strictly increasing
// byte order (which also excludes duplicates).
func (r *reader) tuple(depth int) Value {
	at := r.off
	n := r.count("tuple", 3) // name length, one name byte, a type id
	if r.err != nil {
		return nil
	}
	if n == 0 {
		r.failAt(at, "empty tuple (Clarity has none)")
		return nil
	}
	t := make(tupleValue, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		nameAt := r.off
		name := r.name("tuple key", checkClarityName)
		if r.err == nil && i > 0 && name <= t[i-1].name {
			r.failAt(nameAt, "tuple key %s after %s: keys must be unique and in byte order", quote(name), quote(t[i-1].name))
		}
		t = append(t, tupleEntry{name: name, v: r.value(depth + 1)})
	}
	return t
}

// checkArgValue checks a Clarity value a transaction will carry so that its
// serialisation decodes again: principals with c32 versions and valid names,
// sizes and nesting within stacks-core's limits, tuples non-empty and sorted.
// Values built by this package's constructors pass unless a principal was
// built by hand or a buffer is too large.
func checkArgValue(v Value, depth int) error {
	if depth > maxValueDepth {
		return clarityErr("value nested deeper than %d", maxValueDepth)
	}
	switch x := v.(type) {
	case nil, intValue, uintValue, boolValue, asciiValue, utf8Value:
	case bufferValue:
		if len(x.b) > maxValueSize {
			return clarityErr("buff of %d bytes exceeds %d", len(x.b), maxValueSize)
		}
	case principalValue:
		if x.Address.Version >= 32 {
			return clarityErr("principal version %d is not a c32 version (0..31)", x.Address.Version)
		}
		if x.ContractName != "" {
			if err := checkWireContractName(x.ContractName); err != nil {
				return clarityErr("principal %s: %v", quote(x.ContractName), err)
			}
		}
	case optionalValue:
		return checkArgValue(x.v, depth+1)
	case responseValue:
		return checkArgValue(x.v, depth+1)
	case listValue:
		for _, e := range x {
			if err := checkArgValue(e, depth+1); err != nil {
				return err
			}
		}
	case tupleValue:
		if len(x) == 0 {
			return clarityErr("empty tuple")
		}
		for i, e := range x {
			if err := checkClarityName(e.name); err != nil {
				return clarityErr("tuple key %s: %v", quote(e.name), err)
			}
			if i > 0 && e.name <= x[i-1].name {
				return clarityErr("tuple key %s after %s: keys must be unique and in byte order", quote(e.name), quote(x[i-1].name))
			}
			if err := checkArgValue(e.v, depth+1); err != nil {
				return err
			}
		}
	default:
		return clarityErr("unknown value type %T", v)
	}
	return nil
}
