// Package walletauth applies the rules for wallet-signed JSON messages: the
// exact signed string is verified (never a re-serialisation), its action must
// match the endpoint, its timestamp must be fresh, an optional domain must be
// this gateway's, and state-changing messages are single use.
package walletauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Actions a wallet can sign.
const (
	ActionCreateKey    = "create_api_key"
	ActionListKeys     = "list_api_keys"
	ActionGetKey       = "get_api_key"
	ActionUpdateKey    = "update_api_key"
	ActionDeleteKey    = "delete_api_key"
	ActionExecuteOrder = "execute_order"
	ActionCancelOrder  = "cancel_order"
	ActionListAudit    = "list_audit"
)

// MaxMessageBytes bounds a signed message; real ones are ~150 bytes.
const MaxMessageBytes = 4096

// Envelope is a signed message as a client sends it (body or headers).
type Envelope struct {
	Message       string
	Signature     string
	WalletAddress string
	PublicKey     string
}

// Message is a verified signed message.
type Message struct {
	Raw       string
	Action    string
	Timestamp time.Time
	Wallet    stacks.Address
	PublicKey []byte // recovered, 33 bytes
	fields    map[string]json.RawMessage
}

// Has reports whether the message carries field name.
func (m *Message) Has(name string) bool { _, ok := m.fields[name]; return ok }

// Field decodes field name into dst. A wrong JSON type is a 400 naming the field.
func (m *Message) Field(name string, dst any) error {
	raw, ok := m.fields[name]
	if !ok {
		return fault.Invalidf("message."+name, "message.%s is required", name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return fault.Invalidf("message."+name, "message.%s has the wrong type", name).Wrap(err)
	}
	return nil
}

// Config are the message rules of one deployment.
type Config struct {
	Network stacks.Network
	Window  time.Duration // how old a timestamp may be
	Skew    time.Duration // how far ahead a timestamp may be
	Domain  string        // when set, a message's optional "domain" must equal it

	Metrics *metrics.Metrics // signature counts and timings; nil: none
}

// ReplayStore remembers used messages for the TTL. Claim reports whether id
// was unused (and marks it used) atomically across gateway instances.
type ReplayStore interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
}

// Verifier checks envelopes.
type Verifier struct {
	cfg    Config
	replay ReplayStore
	now    func() time.Time
}

// NewVerifier returns a Verifier. now is the clock (time.Now in production).
func NewVerifier(cfg Config, replay ReplayStore, now func() time.Time) *Verifier {
	return &Verifier{cfg: cfg, replay: replay, now: now}
}

// Errors of signature checks (401 unless the input is malformed).
var (
	ErrInvalidSignature = fault.Unauthenticated("Invalid signature")
	ErrReplayed         = fault.Unauthenticated("Message already used")
	ErrExpired          = fault.Unauthenticated("Message expired")
	ErrFuture           = fault.Unauthenticated("Message timestamp is in the future")
	ErrDomain           = fault.Unauthenticated("Message domain does not match this gateway")
	ErrPublicKey        = fault.Unauthenticated("publicKey does not match the signature")
)

// ParseWallet checks a wallet address: canonical c32check and this network.
func ParseWallet(s string, network stacks.Network) (stacks.Address, error) {
	if s == "" {
		return stacks.Address{}, fault.Invalid("walletAddress", "walletAddress is required")
	}
	addr, err := stacks.ParseAddress(s)
	if err != nil {
		return stacks.Address{}, fault.Invalid("walletAddress", "walletAddress is not a valid Stacks address").Wrap(err)
	}
	if err := stacks.CheckAddressNetwork(addr, network); err != nil {
		return stacks.Address{}, fault.Invalidf("walletAddress",
			"walletAddress belongs to another network (this gateway runs on %s)", network).Wrap(err)
	}
	if !addr.IsSingleSig() {
		return stacks.Address{}, fault.Invalid("walletAddress", "walletAddress must be a single-signature (SP/ST) address")
	}
	return addr, nil
}

// Verify checks env as a message for one of actions. It does not consume the message:
// call Claim once the request is known to be valid, before changing state.
// Cheap checks run first, so junk costs no signature recovery.
func (v *Verifier) Verify(ctx context.Context, env Envelope, actions ...string) (*Message, error) {
	wallet, err := ParseWallet(env.WalletAddress, v.cfg.Network)
	if err != nil {
		return nil, err
	}
	if env.Message == "" {
		return nil, fault.Invalid("message", "message is required")
	}
	if len(env.Message) > MaxMessageBytes {
		return nil, fault.Invalidf("message", "message is longer than %d bytes", MaxMessageBytes)
	}
	if env.Signature == "" {
		return nil, fault.Invalid("signature", "signature is required")
	}
	m, err := parseMessage(env.Message)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(actions, m.Action) {
		return nil, fault.Invalidf("message.action", "message.action must be %q", strings.Join(actions, `" or "`))
	}
	now := v.now()
	switch {
	case m.Timestamp.Before(now.Add(-v.cfg.Window)):
		return nil, ErrExpired
	case m.Timestamp.After(now.Add(v.cfg.Skew)):
		return nil, ErrFuture
	}
	if m.Has("domain") {
		var d string
		if err := m.Field("domain", &d); err != nil {
			return nil, err
		}
		if v.cfg.Domain == "" || d != v.cfg.Domain {
			return nil, ErrDomain
		}
	}
	pub, err := v.verifyMessage(env.Message, env.Signature, wallet)
	switch {
	case errors.Is(err, stacks.ErrMalformedSignature):
		return nil, fault.Invalid("signature", "signature must be 65 bytes of hex (r, s and a recovery id)").Wrap(err)
	case err != nil:
		return nil, ErrInvalidSignature.Wrap(err)
	}
	if env.PublicKey != "" {
		err := stacks.CheckPublicKey(env.PublicKey, pub)
		switch {
		case errors.Is(err, stacks.ErrUncompressedPublicKey):
			return nil, fault.Invalid("publicKey", "publicKey must be a 33-byte compressed public key").Wrap(err)
		case errors.Is(err, stacks.ErrMalformedPublicKey):
			return nil, fault.Invalid("publicKey", "publicKey is not a valid hex public key").Wrap(err)
		case err != nil:
			return nil, ErrPublicKey.Wrap(err)
		}
	}
	m.Wallet = wallet
	m.PublicKey = pub
	return m, nil
}

// Claim marks a verified message used. A second claim of the same wallet and
// message text fails, whatever signature encoding carried it.
func (v *Verifier) Claim(ctx context.Context, m *Message) error {
	sum := sha256.Sum256([]byte(m.Wallet.String() + "\n" + m.Raw))
	ok, err := v.replay.Claim(ctx, hex.EncodeToString(sum[:]), v.cfg.Window+v.cfg.Skew+time.Second)
	if err != nil {
		return fault.Unavailable("Service unavailable: replay store unreachable", fmt.Errorf("claim message: %w", err))
	}
	if !ok {
		return ErrReplayed
	}
	return nil
}

func parseMessage(raw string) (*Message, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, fault.Invalid("message", "message must be a JSON object")
	}
	if dec.More() {
		return nil, fault.Invalid("message", "message must be a single JSON object")
	}
	m := &Message{Raw: raw, fields: fields}
	if err := m.Field("action", &m.Action); err != nil {
		return nil, err
	}
	var ts json.Number
	if err := m.Field("timestamp", &ts); err != nil {
		return nil, err
	}
	ms, err := ts.Int64()
	if err != nil || ms <= 0 || bytes.HasPrefix(fields["timestamp"], []byte(`"`)) {
		return nil, fault.Invalid("message.timestamp", "message.timestamp must be a positive integer of milliseconds since the Unix epoch")
	}
	m.Timestamp = time.UnixMilli(ms)
	return m, nil
}
