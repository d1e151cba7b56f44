package stacks

import (
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// MaxTransactionSize is stacks-core's MAX_TRANSACTION_LEN: no longer
// transaction is decoded or built.
const MaxTransactionSize = 2 << 20

// Transaction version bytes.
const (
	txVersionMainnet = 0x00
	txVersionTestnet = 0x80
)

// Authorization, hash mode and key encoding: the single-sig standard kind
// this package builds.
const (
	authStandard            = 0x04
	authSponsored           = 0x05
	hashModeP2PKH           = 0x00
	keyEncodingCompressed   = 0x00
	keyEncodingUncompressed = 0x01
)

// unsupportedHashModes names the multi-sig and segwit spending conditions.
var unsupportedHashModes = map[byte]string{
	0x01: "P2SH multi-sig", 0x02: "P2WPKH-P2SH", 0x03: "P2WSH-P2SH multi-sig",
	0x05: "order-independent P2SH multi-sig", 0x07: "order-independent P2WSH-P2SH multi-sig",
}

// AnchorMode says where a transaction may be mined.
type AnchorMode byte

// Anchor modes (wire values). Since Nakamoto every mode is mined in a
// block; AnchorAny is what wallets and stacks.js send.
const (
	AnchorOnChainOnly  AnchorMode = 0x01
	AnchorOffChainOnly AnchorMode = 0x02
	AnchorAny          AnchorMode = 0x03
)

var anchorModeNames = map[AnchorMode]string{
	AnchorOnChainOnly: "on-chain-only", AnchorOffChainOnly: "off-chain-only", AnchorAny: "any",
}

// String returns "on-chain-only", "off-chain-only", "any" or "AnchorMode(n)".
func (m AnchorMode) String() string { return enumName("AnchorMode", m, anchorModeNames) }

// SpendingCondition is the origin's single-sig P2PKH authorization with a
// compressed public key (hash mode 0x00, key encoding 0x00): the only kind
// this package builds and parses.
type SpendingCondition struct {
	Signer    [20]byte // hash160 of the signer's compressed public key
	Nonce     uint64   // the origin account's nonce
	Fee       uint64   // µSTX
	Signature [65]byte // recovery id, r, s (VRS) over the presign sighash
}

// Transaction is a Stacks transaction with a standard (not sponsored)
// single-sig authorization and a contract-call or token-transfer payload.
// Build one with NewContractCall or NewTokenTransfer, or decode one with
// ParseTransaction. Fields may be changed before signing (a replacement by
// fee changes Origin.Fee and signs again); Sign and every serialising method
// validate the whole transaction first, so a bad field is an error, never
// bytes a node would refuse to decode.
type Transaction struct {
	Network           Network // version byte: 0x00 mainnet, 0x80 testnet
	ChainID           uint32  // 0x00000001 mainnet, 0x80000000 testnet
	Origin            SpendingCondition
	AnchorMode        AnchorMode
	PostConditionMode PostConditionMode
	PostConditions    []PostCondition
	Payload           Payload
}

// TxOptions are the fields every payload shares. The zero value means nonce
// 0, fee 0, anchor mode any, post-condition mode deny with no post-conditions
// (so the call may move no asset at all) and the network's chain id.
type TxOptions struct {
	Nonce             uint64
	Fee               uint64 // µSTX
	AnchorMode        AnchorMode
	PostConditionMode PostConditionMode
	PostConditions    []PostCondition
	ChainID           uint32
}

// NewContractCall builds an unsigned contract call of contract.function with
// args on network n. The contract must belong to n (a contract of the other
// network is ErrWrongNetwork: the node would refuse the transaction). The
// args and post-conditions slices are copied; the values are immutable.
func NewContractCall(n Network, contract Principal, function string, args []Value, opts TxOptions) (*Transaction, error) {
	if err := checkTargetNetwork(n, "contract", contract.Address); err != nil {
		return nil, err
	}
	return newTransaction(n, opts, &ContractCall{Contract: contract, Function: function, Args: slices.Clone(args)})
}

// NewTokenTransfer builds an unsigned transfer of amount µSTX to recipient
// (which must belong to n) with memo (at most 34 bytes of UTF-8).
func NewTokenTransfer(n Network, recipient Principal, amount uint64, memo string, opts TxOptions) (*Transaction, error) {
	if err := checkTargetNetwork(n, "recipient", recipient.Address); err != nil {
		return nil, err
	}
	m, err := MemoFromString(memo)
	if err != nil {
		return nil, err
	}
	return newTransaction(n, opts, &TokenTransfer{Recipient: recipient, Amount: amount, Memo: m})
}

func newTransaction(n Network, opts TxOptions, p Payload) (*Transaction, error) {
	tx := &Transaction{
		Network:           n,
		ChainID:           opts.ChainID,
		Origin:            SpendingCondition{Nonce: opts.Nonce, Fee: opts.Fee},
		AnchorMode:        opts.AnchorMode,
		PostConditionMode: opts.PostConditionMode,
		PostConditions:    slices.Clone(opts.PostConditions),
		Payload:           p,
	}
	if tx.ChainID == 0 {
		tx.ChainID = uint32(n.ChainID())
	}
	if tx.AnchorMode == 0 {
		tx.AnchorMode = AnchorAny
	}
	if tx.PostConditionMode == 0 {
		tx.PostConditionMode = PostConditionDeny
	}
	if err := tx.Validate(); err != nil {
		return nil, err
	}
	return tx, nil
}

// checkTargetNetwork refuses a payload target on another network than the transaction's.
func checkTargetNetwork(n Network, what string, a Address) error {
	if !n.valid() {
		return fmt.Errorf("stacks: %s is neither mainnet nor testnet: %w", n, ErrWrongNetwork)
	}
	if an, ok := a.Network(); !ok || an != n {
		return fmt.Errorf("stacks: %s %s is not a %s address: %w", what, a, n, ErrWrongNetwork)
	}
	return nil
}

// Validate reports the first field that could not be serialised into a
// transaction ParseTransaction (and a node) would decode: errors wrap
// ErrMalformedTransaction, and ErrClarityValue for a bad argument.
func (tx *Transaction) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stacks: transaction: %s: %w", fmt.Sprintf(format, args...), ErrMalformedTransaction)
	}
	switch {
	case tx == nil:
		return bad("nil transaction")
	case !tx.Network.valid():
		return bad("network %s is neither mainnet nor testnet", tx.Network)
	case tx.AnchorMode < AnchorOnChainOnly || tx.AnchorMode > AnchorAny:
		return bad("anchor mode %d is not 1..3", byte(tx.AnchorMode))
	case tx.PostConditionMode != PostConditionAllow && tx.PostConditionMode != PostConditionDeny:
		return bad("post-condition mode %d is not allow (1) or deny (2)", byte(tx.PostConditionMode))
	case tx.Payload == nil:
		return bad("no payload")
	}
	for i, pc := range tx.PostConditions {
		if pc == nil {
			return bad("post-condition %d is nil", i)
		}
		if err := pc.check(); err != nil {
			return fmt.Errorf("stacks: transaction: post-condition %d: %w", i, wrapMalformed(err))
		}
	}
	if err := tx.Payload.check(); err != nil {
		return fmt.Errorf("stacks: transaction: %w", wrapMalformed(err))
	}
	return nil
}

// wrapMalformed makes err wrap ErrMalformedTransaction, keeping what it wraps.
func wrapMalformed(err error) error {
	if errors.Is(err, ErrMalformedTransaction) {
		return err
	}
	return fmt.Errorf("%w: %w", err, ErrMalformedTransaction)
}

// Serialize validates tx and returns its consensus serialisation: the bytes
// POST /v2/transactions takes (application/octet-stream). The signature has
// a fixed size, so an unsigned transaction already has its signed length
// (the estimated_len of POST /v2/fees/transaction).
func (tx *Transaction) Serialize() ([]byte, error) { return tx.AppendSerialized(nil) }

// AppendSerialized is Serialize appending to dst.
func (tx *Transaction) AppendSerialized(dst []byte) ([]byte, error) {
	return tx.appendChecked(dst, false)
}

// appendChecked validates, appends and enforces MaxTransactionSize; cleared
// writes the origin with nonce, fee and signature zeroed (the initial sighash form).
func (tx *Transaction) appendChecked(dst []byte, cleared bool) ([]byte, error) {
	if err := tx.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = tx.append(dst, cleared)
	if n := len(dst) - start; n > MaxTransactionSize {
		return dst[:start], fmt.Errorf("stacks: transaction is %d bytes, at most %d allowed: %w", n, MaxTransactionSize, ErrMalformedTransaction)
	}
	return dst, nil
}

// append writes the transaction (validated beforehand).
func (tx *Transaction) append(dst []byte, cleared bool) []byte {
	version := byte(txVersionMainnet)
	if tx.Network == Testnet {
		version = txVersionTestnet
	}
	dst = append(dst, version)
	dst = binary.BigEndian.AppendUint32(dst, tx.ChainID)
	dst = append(dst, authStandard, hashModeP2PKH)
	dst = append(dst, tx.Origin.Signer[:]...)
	if cleared {
		dst = append(dst, make([]byte, 8+8+1+65)...) // nonce, fee, key encoding 0x00, signature
	} else {
		dst = binary.BigEndian.AppendUint64(dst, tx.Origin.Nonce)
		dst = binary.BigEndian.AppendUint64(dst, tx.Origin.Fee)
		dst = append(dst, keyEncodingCompressed)
		dst = append(dst, tx.Origin.Signature[:]...)
	}
	dst = append(dst, byte(tx.AnchorMode), byte(tx.PostConditionMode))
	dst = appendLen(dst, len(tx.PostConditions))
	for _, pc := range tx.PostConditions {
		dst = pc.appendPostCondition(dst)
	}
	return tx.Payload.appendPayload(dst)
}

// sha512_256 is the hash of txids and sighashes.
func sha512_256(b []byte) [32]byte { return sha512.Sum512_256(b) }

// InitialSighash is sha512/256 of the transaction with the origin's nonce,
// fee and signature cleared: what every signer of the transaction commits to.
func (tx *Transaction) InitialSighash() ([32]byte, error) {
	var buf [1024]byte // an execute-order call is about 900 bytes
	b, err := tx.appendChecked(buf[:0], true)
	if err != nil {
		return [32]byte{}, err
	}
	return sha512_256(b), nil
}

// PresignSighash is the hash the origin signs:
// sha512/256(initial sighash || 0x04 (standard auth) || fee (u64 BE) || nonce (u64 BE)).
func (tx *Transaction) PresignSighash() ([32]byte, error) {
	initial, err := tx.InitialSighash()
	if err != nil {
		return [32]byte{}, err
	}
	return presignSighash(initial, tx.Origin.Fee, tx.Origin.Nonce), nil
}

func presignSighash(initial [32]byte, fee, nonce uint64) [32]byte {
	var b [32 + 1 + 8 + 8]byte
	copy(b[:32], initial[:])
	b[32] = authStandard
	binary.BigEndian.PutUint64(b[33:41], fee)
	binary.BigEndian.PutUint64(b[41:49], nonce)
	return sha512_256(b[:])
}

// Sign makes k the origin (Origin.Signer = hash160 of its compressed public
// key) and signs the presign sighash deterministically (RFC 6979, low S),
// storing the signature as VRS. Signing again after changing the fee or nonce
// replaces the signature.
func (tx *Transaction) Sign(k *PrivateKey) error {
	if !k.ok() {
		return fmt.Errorf("stacks: sign transaction: no private key: %w", ErrMalformedPrivateKey)
	}
	if tx == nil {
		return tx.Validate()
	}
	signer := tx.Origin.Signer
	tx.Origin.Signer = Hash160(k.pub[:])
	presign, err := tx.PresignSighash()
	if err != nil {
		tx.Origin.Signer = signer // a refused transaction is left as it was
		return err
	}
	sig, err := SignHash(k, presign)
	if err != nil { // unreachable: k was checked above
		tx.Origin.Signer = signer
		return err
	}
	tx.Origin.Signature = sig.VRS()
	return nil
}

// OriginAddress is the origin's P2PKH address on the transaction's network.
func (tx *Transaction) OriginAddress() Address {
	return Address{Version: tx.Network.AddressVersion(), Hash160: tx.Origin.Signer}
}

// VerifyOrigin checks the origin signature as a node does: the VRS signature
// over the presign sighash must recover a key whose hash160 is Origin.Signer.
// It returns that 33-byte compressed key. A recovery id above 3, r or s out
// of range fail with ErrMalformedSignature, a high S with ErrHighS (nothing
// this package or a wallet signs has one), another signer or no recoverable
// key with ErrInvalidSignature.
func (tx *Transaction) VerifyOrigin() ([]byte, error) {
	presign, err := tx.PresignSighash()
	if err != nil {
		return nil, err
	}
	s := &tx.Origin.Signature
	sig := Signature{RecoveryID: s[0], R: [32]byte(s[1:33]), S: [32]byte(s[33:65])}
	pub, err := recoverKey(&presign, &sig)
	if err != nil {
		return nil, fmt.Errorf("stacks: origin signature: %w", err)
	}
	key := pub.SerializeCompressed()
	if h := Hash160(key); h != tx.Origin.Signer {
		signer := Address{Version: tx.Network.AddressVersion(), Hash160: h}
		return nil, fmt.Errorf("stacks: origin signature was made by %s, not the origin %s: %w", signer, tx.OriginAddress(), ErrInvalidSignature)
	}
	return key, nil
}

// TxID is a transaction id: sha512/256 of the signed serialisation.
type TxID [32]byte

// TxIDOf is the txid of serialised transaction bytes (no decoding).
func TxIDOf(raw []byte) TxID { return TxID(sha512_256(raw)) }

// TxID validates and serialises tx and returns its txid. It is final only
// once tx is signed: the signature is part of the hashed bytes.
func (tx *Transaction) TxID() (TxID, error) {
	var buf [1024]byte // an execute-order call is about 900 bytes
	b, err := tx.AppendSerialized(buf[:0])
	if err != nil {
		return TxID{}, err
	}
	return TxIDOf(b), nil
}

// Hex is the txid as 64 lower-case hex digits, as the node's
// POST /v2/transactions answers it.
func (id TxID) Hex() string { return hex.EncodeToString(id[:]) }

// String is the txid as "0x" and 64 lower-case hex digits, as the Stacks API
// and the gateway show it.
func (id TxID) String() string { return "0x" + id.Hex() }

// ParseTxID parses 64 hex digits, optional 0x, either case.
func ParseTxID(s string) (TxID, error) {
	var id TxID
	h := trim0x(s)
	if len(h) != 64 {
		return id, fmt.Errorf("stacks: txid is %d hex digits, want 64: %w", len(h), ErrMalformedTransaction)
	}
	if i := decodeHex(id[:], h); i >= 0 {
		return TxID{}, fmt.Errorf("stacks: txid has a non-hex character at %d: %w", i, ErrMalformedTransaction)
	}
	return id, nil
}

// VRS returns recovery id || r || s, the order of a transaction's spending condition.
func (s Signature) VRS() [65]byte {
	var b [65]byte
	b[0] = s.RecoveryID
	copy(b[1:33], s.R[:])
	copy(b[33:65], s.S[:])
	return b
}

// ParseTransaction decodes a serialised transaction strictly: exactly one
// transaction (no trailing bytes), at most MaxTransactionSize, every enum
// value known, every length within its limit and every name valid. Errors
// name the byte offset and wrap ErrMalformedTransaction, or
// ErrUnsupportedTransaction for a well-formed kind this package does not
// handle (sponsored or multi-sig authorization, an uncompressed key, other
// payloads). The result serialises back to exactly b. The signature is not
// checked: call VerifyOrigin.
func ParseTransaction(b []byte) (*Transaction, error) {
	if len(b) > MaxTransactionSize {
		return nil, fmt.Errorf("stacks: transaction is %d bytes, at most %d allowed: %w", len(b), MaxTransactionSize, ErrMalformedTransaction)
	}
	r := reader{b: b, sentinel: ErrMalformedTransaction}
	tx := new(Transaction)
	switch v := r.u8("version"); {
	case r.err != nil:
	case v == txVersionMainnet:
		tx.Network = Mainnet
	case v == txVersionTestnet:
		tx.Network = Testnet
	default:
		r.failAt(0, "unknown version 0x%02x (0x00 mainnet, 0x80 testnet)", v)
	}
	tx.ChainID = r.u32("chain id")
	r.origin(&tx.Origin)
	tx.AnchorMode = readEnum(&r, "anchor mode", anchorModeNames, nil)
	tx.PostConditionMode = readEnum(&r, "post-condition mode", postConditionModeNames, unsupportedPostConditionModes)
	n := r.count("post-condition", 1+1+8) // type, origin principal, code and amount at least
	if n > 0 {
		tx.PostConditions = make([]PostCondition, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		tx.PostConditions = append(tx.PostConditions, r.postCondition())
	}
	tx.Payload = r.payload()
	if r.err == nil && r.left() != 0 {
		r.fail("%d bytes after the transaction", r.left())
	}
	if r.err != nil {
		return nil, r.err
	}
	return tx, nil
}

// ParseTransactionHex is ParseTransaction of hex text (optional 0x, either case).
func ParseTransactionHex(s string) (*Transaction, error) {
	h := trim0x(s)
	if len(h)%2 != 0 || len(h)/2 > MaxTransactionSize {
		return nil, fmt.Errorf("stacks: transaction hex is %d digits, want an even number up to %d: %w", len(h), 2*MaxTransactionSize, ErrMalformedTransaction)
	}
	b := make([]byte, len(h)/2)
	if i := decodeHex(b, h); i >= 0 {
		return nil, fmt.Errorf("stacks: transaction hex has a non-hex character at %d: %w", i, ErrMalformedTransaction)
	}
	return ParseTransaction(b)
}

// origin decodes the authorization: standard, single-sig P2PKH, compressed key.
func (r *reader) origin(o *SpendingCondition) {
	at := r.off
	switch a := r.u8("authorization type"); {
	case r.err != nil:
	case a == authStandard:
	case a == authSponsored:
		r.unsupported(at, "sponsored authorization is not supported")
	default:
		r.failAt(at, "unknown authorization type 0x%02x", a)
	}
	at = r.off
	switch m := r.u8("hash mode"); {
	case r.err != nil:
	case m == hashModeP2PKH:
	case unsupportedHashModes[m] != "":
		r.unsupported(at, "%s spending condition is not supported (single-sig P2PKH only)", unsupportedHashModes[m])
	default:
		r.failAt(at, "unknown hash mode 0x%02x", m)
	}
	if b := r.take(20, "signer"); b != nil {
		o.Signer = [20]byte(b)
	}
	o.Nonce = r.u64("nonce")
	o.Fee = r.u64("fee")
	at = r.off
	switch e := r.u8("key encoding"); {
	case r.err != nil:
	case e == keyEncodingCompressed:
	case e == keyEncodingUncompressed:
		if r.err == nil {
			r.err = fmt.Errorf("stacks: byte %d: uncompressed public key encoding: %w: %w", at, ErrUncompressedPublicKey, ErrUnsupportedTransaction)
		}
	default:
		r.failAt(at, "unknown key encoding 0x%02x", e)
	}
	if b := r.take(65, "signature"); b != nil {
		o.Signature = [65]byte(b)
	}
}
