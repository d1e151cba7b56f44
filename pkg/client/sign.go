package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// MessageSigner signs wallet messages: what key management and signed
// execute/cancel need.
type MessageSigner interface {
	// Address is the wallet's address on network n.
	Address(n stacks.Network) string
	// SignMessage signs msg as stx_signMessage does (RSV hex).
	SignMessage(ctx context.Context, msg []byte) (string, error)
}

// Signer also signs orders: SIP-018 structured data. PrivateKeySigner keeps
// a key in memory; HashSigner adapts an HSM or KMS; a hardware wallet can
// implement it too.
type Signer interface {
	MessageSigner
	// SignStructured signs SIP-018 structured data (RSV hex).
	SignStructured(ctx context.Context, domain, message stacks.Value) (string, error)
}

// PrivateKeySigner signs with an in-memory private key.
type PrivateKeySigner struct{ Key *stacks.PrivateKey }

// Address implements Signer.
func (s PrivateKeySigner) Address(n stacks.Network) string { return s.Key.Address(n).String() }

// SignMessage implements Signer. Without a key it fails (stacks.ErrNoPrivateKey).
func (s PrivateKeySigner) SignMessage(_ context.Context, msg []byte) (string, error) {
	return stacks.SignMessage(s.Key, msg)
}

// SignStructured implements Signer. Without a key it fails (stacks.ErrNoPrivateKey).
func (s PrivateKeySigner) SignStructured(_ context.Context, domain, message stacks.Value) (string, error) {
	return stacks.SignStructuredData(s.Key, domain, message)
}

// HashSigner is a Signer for keys that never leave an HSM or KMS: it hashes
// messages (MessageHash) and orders (StructuredHash) exactly as wallets do and
// asks SignHash for a recoverable secp256k1 signature of the 32-byte digest,
// as 65 bytes of hex in RSV order (r, s, recovery id; low S). A signature
// that does not recover to the public key (a wrong KMS key, a zero or
// malformed answer) is an error, never sent to the gateway.
type HashSigner struct {
	publicKey []byte
	address   stacks.Address // of publicKey (mainnet; the hash160 is all VerifyHash compares)
	signHash  func(ctx context.Context, digest [32]byte) (string, error)
}

// NewHashSigner returns a HashSigner for the 33-byte compressed public key
// pub whose private half signs digests in signHash.
func NewHashSigner(pub []byte, signHash func(ctx context.Context, digest [32]byte) (string, error)) (*HashSigner, error) {
	addr, err := stacks.AddressFromPublicKey(pub, stacks.Mainnet)
	if err != nil {
		return nil, fmt.Errorf("stxgate: hash signer: %w", err)
	}
	if signHash == nil {
		return nil, errors.New("stxgate: hash signer: no signing function")
	}
	return &HashSigner{publicKey: append([]byte(nil), pub...), address: addr, signHash: signHash}, nil
}

// PublicKey is the signer's compressed public key, hex (X-Public-Key / publicKey).
func (h *HashSigner) PublicKey() string { return hex.EncodeToString(h.publicKey) }

// Address implements Signer.
func (h *HashSigner) Address(n stacks.Network) string {
	a, err := stacks.AddressFromPublicKey(h.publicKey, n)
	if err != nil { // checked by NewHashSigner
		return ""
	}
	return a.String()
}

// SignMessage implements Signer.
func (h *HashSigner) SignMessage(ctx context.Context, msg []byte) (string, error) {
	return h.sign(ctx, MessageHash(msg))
}

// SignStructured implements Signer.
func (h *HashSigner) SignStructured(ctx context.Context, domain, message stacks.Value) (string, error) {
	return h.sign(ctx, StructuredHash(domain, message))
}

// sign asks signHash and checks the answer against the public key.
func (h *HashSigner) sign(ctx context.Context, digest [32]byte) (string, error) {
	sig, err := h.signHash(ctx, digest)
	if err != nil {
		return "", err
	}
	if _, err := stacks.VerifyHash(digest, sig, h.address); err != nil {
		return "", fmt.Errorf("stxgate: hash signer: the signature is not the public key's: %w", err)
	}
	return sig, nil
}

// MessageHash is the digest a wallet signs for a message (stx_signMessage):
// sha256("\x17Stacks Signed Message:\n" || varint(len) || msg).
func MessageHash(msg []byte) [32]byte { return stacks.HashMessage(msg) }

// StructuredHash is the SIP-018 digest a wallet signs for structured data.
func StructuredHash(domain, message stacks.Value) [32]byte {
	return stacks.StructuredDataHash(domain, message)
}

// OrderHash is the SIP-018 digest of an order under a domain: what a signer
// of SignOrder is asked to sign.
func OrderHash(o ordersig.Order, d stacks.Domain) ([32]byte, error) { return ordersig.Hash(o, d) }

// Envelope is a signed wallet message as the gateway takes it: in the JSON
// body (BodyFields) or in the X-Message / X-Signature / X-Wallet-Address /
// X-Public-Key headers (Headers).
type Envelope struct {
	Message       string `json:"message"`
	Signature     string `json:"signature"`
	WalletAddress string `json:"walletAddress"`
	PublicKey     string `json:"publicKey,omitempty"`
}

// Headers are the envelope as request headers. Header values must be ASCII,
// so the message is sent with non-ASCII characters \u-escaped (SignEnvelope
// already signs that form).
func (e Envelope) Headers() map[string]string {
	h := map[string]string{"X-Message": e.Message, "X-Signature": e.Signature, "X-Wallet-Address": e.WalletAddress}
	if e.PublicKey != "" {
		h["X-Public-Key"] = e.PublicKey
	}
	return h
}

// SignEnvelope builds the JSON message {"action": action, "network": n,
// ...fields, "timestamp": now in ms}, signs it with s and returns the
// envelope. "network" binds the message to n (a gateway of the other network
// refuses it; testnet gateways require it); a "network" in fields wins. The
// message is ASCII-only JSON so that the same envelope also travels in headers.
func SignEnvelope(ctx context.Context, s MessageSigner, n stacks.Network, action string, fields map[string]any, now time.Time) (Envelope, error) {
	if s == nil {
		return Envelope{}, ErrNoSigner
	}
	msg := make(map[string]any, len(fields)+3)
	msg["network"] = n.String()
	for k, v := range fields {
		msg[k] = v
	}
	msg["action"] = action
	msg["timestamp"] = now.UnixMilli()
	raw, err := json.Marshal(msg)
	if err != nil {
		return Envelope{}, fmt.Errorf("stxgate: encode message: %w", err)
	}
	raw = asciiJSON(raw)
	sig, err := s.SignMessage(ctx, raw)
	if err != nil {
		return Envelope{}, fmt.Errorf("stxgate: sign message: %w", err)
	}
	env := Envelope{Message: string(raw), Signature: sig, WalletAddress: s.Address(n)}
	if pk, ok := s.(interface{ PublicKey() string }); ok {
		env.PublicKey = pk.PublicKey()
	}
	return env, nil
}

// asciiJSON \u-escapes every non-ASCII character of a JSON document. Outside
// strings JSON is ASCII, so only string contents change, and not their meaning.
func asciiJSON(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < 0x80:
			sb.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		}
	}
	return []byte(sb.String())
}
