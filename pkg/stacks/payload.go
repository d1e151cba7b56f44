package stacks

import (
	"encoding/binary"
	"fmt"
)

// Payload is what a transaction does: *ContractCall or *TokenTransfer.
type Payload interface {
	appendPayload(dst []byte) []byte
	check() error
}

// Payload type ids (stacks-core TransactionPayloadID).
const (
	payloadTokenTransfer = 0x00
	payloadContractCall  = 0x02
)

// unsupportedPayloads names the payload types this package refuses.
var unsupportedPayloads = map[byte]string{
	0x01: "smart-contract", 0x03: "poison-microblock", 0x04: "coinbase", 0x05: "coinbase-to-alt-recipient",
	0x06: "versioned-smart-contract", 0x07: "tenure-change", 0x08: "nakamoto-coinbase",
}

// ContractCall calls a public function: (contract-call? Contract Function Args...).
type ContractCall struct {
	Contract Principal // a contract principal
	Function string    // a Clarity name
	Args     []Value   // consensus-serialised in order; nil arguments are refused
}

func (c *ContractCall) check() error {
	if !c.Contract.IsContract() {
		return fmt.Errorf("contract-call target %s is not a contract principal", c.Contract)
	}
	if err := checkWirePrincipal(c.Contract); err != nil {
		return fmt.Errorf("contract-call target: %v", err)
	}
	if err := checkClarityName(c.Function); err != nil {
		return fmt.Errorf("function name %s: %v", quote(c.Function), err)
	}
	for i, a := range c.Args {
		if a == nil {
			return fmt.Errorf("argument %d is nil (use None() for none)", i)
		}
		if err := checkArgValue(a, 1); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return nil
}

func (c *ContractCall) appendPayload(dst []byte) []byte {
	dst = appendAddress(append(dst, payloadContractCall), c.Contract.Address)
	dst = appendName(dst, c.Contract.ContractName)
	dst = appendName(dst, c.Function)
	dst = appendLen(dst, len(c.Args))
	for _, a := range c.Args {
		dst = appendValue(dst, a)
	}
	return dst
}

// MemoLen is the fixed size of a token transfer's memo.
const MemoLen = 34

// Memo is a token transfer's memo: 34 raw bytes, zero-padded.
type Memo [MemoLen]byte

// MemoFromString returns s (UTF-8, at most 34 bytes) zero-padded, as stacks.js writes a memo.
func MemoFromString(s string) (Memo, error) {
	var m Memo
	if len(s) > MemoLen {
		return m, fmt.Errorf("stacks: memo is %d bytes, at most %d allowed: %w", len(s), MemoLen, ErrMalformedTransaction)
	}
	copy(m[:], s)
	return m, nil
}

// String returns the memo without its trailing zero bytes.
func (m Memo) String() string {
	n := len(m)
	for n > 0 && m[n-1] == 0 {
		n--
	}
	return string(m[:n])
}

// TokenTransfer sends Amount µSTX from the origin to Recipient.
type TokenTransfer struct {
	Recipient Principal // a standard or contract principal
	Amount    uint64    // µSTX
	Memo      Memo
}

func (t *TokenTransfer) check() error {
	if err := checkWirePrincipal(t.Recipient); err != nil {
		return fmt.Errorf("recipient: %v", err)
	}
	return nil
}

func (t *TokenTransfer) appendPayload(dst []byte) []byte {
	dst = principalValue(t.Recipient).AppendSerialized(append(dst, payloadTokenTransfer))
	dst = binary.BigEndian.AppendUint64(dst, t.Amount)
	return append(dst, t.Memo[:]...)
}

// SerializePayload returns p's consensus serialisation: what
// POST /v2/fees/transaction takes as transaction_payload (in hex).
func SerializePayload(p Payload) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("stacks: no payload: %w", ErrMalformedTransaction)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("stacks: payload: %w", wrapMalformed(err))
	}
	return p.appendPayload(nil), nil
}

// payload decodes the payload.
func (r *reader) payload() Payload {
	at := r.off
	switch t := r.u8("payload type"); {
	case r.err != nil:
		return nil
	case t == payloadContractCall:
		a := r.address("contract address")
		c := &ContractCall{Contract: Principal{Address: a, ContractName: r.name("contract name", checkWireContractName)}}
		c.Function = r.name("function name", checkClarityName)
		n := r.count("argument", 1)
		c.Args = make([]Value, 0, n)
		for i := 0; i < n && r.err == nil; i++ {
			c.Args = append(c.Args, r.value(1))
		}
		return c
	case t == payloadTokenTransfer:
		var p Principal
		switch id, idAt := r.u8("recipient type"), r.off-1; {
		case r.err != nil:
		case id == typeStandardPrincipal:
			p.Address = r.address("recipient")
		case id == typeContractPrincipal:
			p.Address = r.address("recipient")
			p.ContractName = r.name("recipient contract name", checkWireContractName)
		default:
			r.failAt(idAt, "token transfer recipient has Clarity type id 0x%02x, not a principal", id)
		}
		tt := &TokenTransfer{Recipient: p, Amount: r.u64("amount")}
		if m := r.take(MemoLen, "memo"); m != nil {
			tt.Memo = Memo(m)
		}
		return tt
	default:
		if name, ok := unsupportedPayloads[t]; ok {
			r.unsupported(at, "%s payload is not supported (contract-call and token-transfer only)", name)
		} else {
			r.failAt(at, "unknown payload type 0x%02x", t)
		}
		return nil
	}
}
