package stacks

import "errors"

// Sentinel errors. Functions wrap them with detail, so test with errors.Is.
var (
	// ErrMalformedSignature: the signature text is not 65 bytes of hex with a
	// valid recovery id, or r/s are out of range.
	ErrMalformedSignature = errors.New("malformed signature")
	// ErrHighS: s is above n/2. Wallets never produce it; Clarity rejects it.
	ErrHighS = errors.New("signature has high S (not canonical)")
	// ErrInvalidSignature: well-formed, but does not recover to the claimed address.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrMalformedAddress: not a canonical c32check Stacks address.
	ErrMalformedAddress = errors.New("malformed Stacks address")
	// ErrWrongNetwork: the address belongs to the other network.
	ErrWrongNetwork = errors.New("wrong network")
	// ErrMalformedPublicKey: not a valid secp256k1 public key encoding.
	ErrMalformedPublicKey = errors.New("malformed public key")
	// ErrUncompressedPublicKey: a 65-byte key; Stacks wallets use 33-byte keys.
	ErrUncompressedPublicKey = errors.New("uncompressed public key")
	// ErrPublicKeyMismatch: the claimed public key is not the recovered one.
	ErrPublicKeyMismatch = errors.New("public key does not match signature")
	// ErrMalformedPrincipal: not a standard or contract principal.
	ErrMalformedPrincipal = errors.New("malformed principal")
	// ErrMalformedPrivateKey: not a stacks.js compressed private key.
	ErrMalformedPrivateKey = errors.New("malformed private key")
	// ErrNoPrivateKey: asked to sign with a nil or zero PrivateKey.
	ErrNoPrivateKey = errors.New("stacks: no private key to sign with")
	// ErrClarityValue: the value cannot be represented in Clarity.
	ErrClarityValue = errors.New("invalid Clarity value")
	// ErrMalformedTransaction: the bytes (or the fields to serialise) are not
	// a Stacks transaction: truncated, trailing bytes, an unknown enum value,
	// a bad length or name, a value past a consensus limit.
	ErrMalformedTransaction = errors.New("malformed Stacks transaction")
	// ErrUnsupportedTransaction: a well-formed transaction of a kind this
	// package does not handle (sponsored or multi-sig authorization, an
	// uncompressed key, a payload other than contract-call or token-transfer,
	// SIP-040 post-condition modes and codes).
	ErrUnsupportedTransaction = errors.New("unsupported Stacks transaction")
)
