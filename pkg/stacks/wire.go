package stacks

import (
	"encoding/binary"
	"fmt"
)

// reader decodes consensus bytes. The first failure sticks: later reads
// return zero values, so a decoder checks r.err only where a value it read
// decides what comes next (a length, a type id). Errors name the byte offset
// and wrap sentinel (ErrMalformedTransaction or ErrClarityValue).
type reader struct {
	b        []byte
	off      int
	err      error
	sentinel error
}

// fail records the first error, at the current offset.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("stacks: byte %d: %s: %w", r.off, fmt.Sprintf(format, args...), r.sentinel)
	}
}

// failAt records the first error at offset at (the start of the field that is wrong).
func (r *reader) failAt(at int, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("stacks: byte %d: %s: %w", at, fmt.Sprintf(format, args...), r.sentinel)
	}
}

// unsupported records a well-formed field this package does not handle.
func (r *reader) unsupported(at int, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("stacks: byte %d: %s: %w", at, fmt.Sprintf(format, args...), ErrUnsupportedTransaction)
	}
}

// readEnum reads a one-byte enum: a value names holds, else zero and an
// error: unsupported, with its reason, for a value the unsupported map
// holds (may be nil), unknown for any other.
func readEnum[E ~uint8](r *reader, what string, names, unsupported map[E]string) E {
	at := r.off
	v := E(r.u8(what))
	if _, ok := names[v]; ok || r.err != nil {
		return v
	}
	if why, ok := unsupported[v]; ok {
		r.unsupported(at, "%s 0x%02x (%s) is not supported", what, byte(v), why)
	} else {
		r.failAt(at, "unknown %s 0x%02x", what, byte(v))
	}
	return 0
}

// left is the number of unread bytes.
func (r *reader) left() int { return len(r.b) - r.off }

// take returns the next n bytes (aliasing the input), or nil after a failure.
func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.left() {
		r.fail("%s: want %d bytes, %d left", what, n, r.left())
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8(what string) byte {
	if b := r.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if b := r.take(8, what); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// count reads a u32 element count and bounds it by the bytes left, given
// that each element takes at least minSize bytes; so no declared count can
// make a decoder allocate more than the input justifies.
func (r *reader) count(what string, minSize int) int {
	at := r.off
	n := r.u32(what + " count")
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(r.left()) {
		r.failAt(at, "%s count %d does not fit in the %d bytes left", what, n, r.left())
		return 0
	}
	return int(n)
}

// address reads a version byte and a hash160 (stacks-core StacksAddress).
func (r *reader) address(what string) Address {
	at := r.off
	b := r.take(21, what)
	if b == nil {
		return Address{}
	}
	if b[0] >= 32 {
		r.failAt(at, "%s version %d is not a c32 version (0..31)", what, b[0])
		return Address{}
	}
	return Address{Version: b[0], Hash160: [20]byte(b[1:21])}
}

// name reads a u8-length-prefixed name and applies check to it.
func (r *reader) name(what string, check func(string) error) string {
	at := r.off
	n := int(r.u8(what + " length"))
	b := r.take(n, what)
	if b == nil {
		return ""
	}
	s := string(b)
	if err := check(s); err != nil {
		r.failAt(at, "%s %s: %v", what, quote(s), err)
		return ""
	}
	return s
}

// checkWireContractName is stacks-core's ContractName as it is decoded:
// ^[a-zA-Z]([a-zA-Z0-9]|[-_])*$ with 1..128 characters. Deploying needs 40 or
// fewer, but longer names still decode (stacks-core keeps that for old
// nodes, and stacks.js builds them), so the wire format accepts them.
func checkWireContractName(name string) error { return checkContractNameMax(name, maxClarityName) }
