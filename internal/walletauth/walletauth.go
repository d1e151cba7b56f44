// Package walletauth applies the rules for wallet-signed JSON messages: the
// exact signed string is verified (never a re-serialisation) and must be one
// strict JSON object (no duplicate keys, no \u-escaped ASCII), its action must
// match the endpoint, its timestamp must be fresh, its network and domain must
// be this gateway's, and state-changing messages are single use.
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
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/metrics/label"
	"github.com/stxgate/stxgate/internal/strictjson"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Actions a wallet can sign.
const (
	ActionCreateKey    = "create_api_key"
	ActionListKeys     = "list_api_keys"
	ActionGetKey       = "get_api_key"
	ActionUpdateKey    = "update_api_key"
	ActionDeleteKey    = "delete_api_key"
	ActionRotateKey    = "rotate_api_key"
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
	address   string // Wallet as the client sent it: its canonical spelling (ParseWallet)

	// counted is shared by every copy of a remembered read message: it has
	// been counted against its wallet (Counted; nil: not remembered).
	counted *atomic.Bool
}

// Address is the wallet's canonical address text (Wallet.String(), without
// encoding it again: ParseAddress accepts only that spelling).
func (m *Message) Address() string {
	if m.address == "" {
		return m.Wallet.String()
	}
	return m.address
}

// Has reports whether the message carries field name.
func (m *Message) Has(name string) bool { _, ok := m.fields[name]; return ok }

// Field decodes field name into dst. A wrong JSON type is a 400 naming the field.
func (m *Message) Field(name string, dst any) error {
	raw, ok := m.fields[name]
	if !ok {
		return fault.Invalidf("message."+name, "message.%s is required", name)
	}
	var err error
	switch dst := dst.(type) {
	case *string:
		if v, ok := plainString(raw); ok {
			*dst = v
			return nil
		}
		err = json.Unmarshal(raw, dst)
	case *json.Number: // the common fields: no decoder (and its buffer) per field
		err = json.Unmarshal(raw, dst)
	default:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(dst)
	}
	if err != nil {
		return fault.Invalidf("message."+name, "message.%s has the wrong type", name).Wrap(err)
	}
	return nil
}

// plainString is the value of a JSON string without escapes, as
// json.Unmarshal would decode it: strictjson has already checked the text
// (valid UTF-8, no control characters), so the bytes between the quotes are
// the value. ok is false for anything else (escapes, other types).
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw[1:len(raw)-1], '\\') >= 0 {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// Config are the message rules of one deployment.
type Config struct {
	Network stacks.Network
	Window  time.Duration // how old a timestamp may be
	Skew    time.Duration // how far ahead a timestamp may be
	Domain  string        // when set, every message must carry "domain" equal to it

	Metrics Metrics // signature counts and timings (*metrics.Metrics); nil: none
}

// ReplayStore remembers used messages for the TTL. Claim reports whether id
// was unused (and marks it used) atomically across gateway instances.
type ReplayStore interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
}

// Verifier checks envelopes.
type Verifier struct {
	cfg      Config
	replay   ReplayStore
	now      func() time.Time
	verified verifiedCache // read-only messages already verified (cache.go)
	keys     *knownKeys    // wallets' recovered public keys and their tables (keys.go)
}

// NewVerifier returns a Verifier. now is the clock (time.Now in production).
func NewVerifier(cfg Config, replay ReplayStore, now func() time.Time) *Verifier {
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Verifier{cfg: cfg, replay: replay, now: now, verified: newVerifiedCache(VerifiedCacheSize), keys: newKnownKeys(KnownKeysSize, TablesSize, now)}
}

// Errors of signature checks (401 unless the input is malformed).
var (
	ErrInvalidSignature = fault.Unauthenticated("Invalid signature").WithCode(fault.CodeInvalidSignature)
	ErrReplayed         = fault.Unauthenticated("Message already used").WithCode(fault.CodeMessageReplayed)
	ErrExpired          = fault.Unauthenticated("Message expired").WithCode(fault.CodeMessageExpired)
	ErrFuture           = fault.Unauthenticated("Message timestamp is in the future").WithCode(fault.CodeMessageFromFuture)
	ErrDomain           = fault.Unauthenticated("Message domain does not match this gateway").WithCode(fault.CodeDomainMismatch)
	ErrDomainMissing    = fault.Unauthenticated("Message domain is required by this gateway").WithCode(fault.CodeDomainRequired)
	ErrNetwork          = fault.Unauthenticated("Message is for another network").WithCode(fault.CodeWrongNetwork)
	ErrNetworkMissing   = fault.Unauthenticated(`Message network is required on testnet ("network":"testnet")`).WithCode(fault.CodeNetworkRequired)
	ErrPublicKey        = fault.Unauthenticated("publicKey does not match the signature").WithCode(fault.CodePublicKeyMismatch)
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
			"walletAddress belongs to another network (this gateway runs on %s)", network).WithCode(fault.CodeWalletWrongNetwork).Wrap(err)
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
	// A read-only message verified before (cache.go) skips its parse and
	// its recovery, and nothing else: the action, window, network, domain
	// and publicKey checks run on every request, on the message as parsed
	// the first time (the same text: the cache key covers it).
	key := cacheKey(env.WalletAddress, env.Signature, env.Message) // canonical: ParseWallet accepted it
	if e, ok := v.verified.get(key, v.now()); ok {
		m := *e.msg // shared entries are never modified
		if err := v.checkRules(&m, actions); err != nil {
			return nil, err
		}
		v.cfg.Metrics.Signature(label.SigMessageCached, time.Now(), nil)
		return v.finish(&m, env, wallet, e.pub)
	}
	m, err := parseMessage(env.Message)
	if err != nil {
		return nil, err
	}
	if err := v.checkRules(m, actions); err != nil {
		return nil, err
	}
	pub, err := v.verifyMessage(env.Message, env.Signature, wallet)
	switch {
	case errors.Is(err, stacks.ErrMalformedSignature):
		return nil, fault.Invalid("signature", "signature must be 65 bytes of hex (r, s and a recovery id)").WithCode(fault.CodeMalformedSignature).Wrap(err)
	case err != nil:
		return nil, ErrInvalidSignature.WithDetails(v.whyInvalid(env, wallet, err)).Wrap(err)
	}
	if reusable(m.Action) {
		m.counted = new(atomic.Bool)
		cached := *m
		cached.Wallet, cached.PublicKey = wallet, pub
		v.verified.put(key, verifiedEntry{pub: pub, expires: m.Timestamp.Add(v.cfg.Window), msg: &cached})
	}
	return v.finish(m, env, wallet, pub)
}

// checkRules are the checks of a parsed message besides its signature.
func (v *Verifier) checkRules(m *Message, actions []string) error {
	if !slices.Contains(actions, m.Action) {
		return fault.Invalidf("message.action", "message.action must be %q", strings.Join(actions, `" or "`)).WithCode(fault.CodeWrongAction)
	}
	if err := v.checkTime(m); err != nil {
		return err
	}
	if err := v.checkNetwork(m); err != nil {
		return err
	}
	return v.checkDomain(m)
}

// finish compares the envelope's publicKey, if any, with the recovered key
// pub and completes m.
func (v *Verifier) finish(m *Message, env Envelope, wallet stacks.Address, pub []byte) (*Message, error) {
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
	m.Wallet, m.address = wallet, env.WalletAddress
	m.PublicKey = pub
	return m, nil
}

// Claim marks a verified message used. A second claim of the same wallet and
// message text fails, whatever signature encoding carried it.
func (v *Verifier) Claim(ctx context.Context, m *Message) error {
	sum := sha256.Sum256([]byte(m.Address() + "\n" + m.Raw))
	ok, err := v.replay.Claim(ctx, hex.EncodeToString(sum[:]), v.cfg.Window+v.cfg.Skew+time.Second)
	if err != nil {
		return fault.Unavailable("Service unavailable: replay store unreachable", fmt.Errorf("claim message: %w", err))
	}
	if !ok {
		return ErrReplayed
	}
	return nil
}

// ReadOnce is what counting a reusable read message against its wallet
// once needs (ratelimit.Limiter.AllowOnce): its marker, a hash of the wallet
// and the text (any signature encoding of one text is one message), and how
// long to keep it — the window. counted reports that this instance counted
// it already, for as long as it remembers the verified message (cache.go):
// then nothing needs sending, and a re-used list signature costs no round
// trip after its answer.
func (v *Verifier) ReadOnce(m *Message) (marker string, ttl time.Duration, counted bool) {
	if m.counted != nil && m.counted.Load() {
		return "", 0, true
	}
	sum := sha256.Sum256([]byte("read\n" + m.Address() + "\n" + m.Raw))
	return hex.EncodeToString(sum[:]), v.cfg.Window + v.cfg.Skew + time.Second, false
}

// Counted records that m was counted (AllowOnce answered), here or on
// another instance: ReadOnce reports it from now on.
func (v *Verifier) Counted(m *Message) {
	if m.counted != nil {
		m.counted.Store(true)
	}
}

// checkTime applies the window. A refusal says the window and the server's
// clock, and hints at the commonest mistake: seconds instead of milliseconds.
func (v *Verifier) checkTime(m *Message) error {
	now := v.now()
	var e *fault.Error
	switch {
	case m.Timestamp.Before(now.Add(-v.cfg.Window)):
		e = ErrExpired
	case m.Timestamp.After(now.Add(v.cfg.Skew)):
		e = ErrFuture
	default:
		return nil
	}
	details := map[string]any{
		"messageTimestamp": m.Timestamp.UnixMilli(),
		"serverTime":       now.UnixMilli(),
		"windowSeconds":    int(v.cfg.Window / time.Second),
		"skewSeconds":      int(v.cfg.Skew / time.Second),
	}
	if ms := m.Timestamp.UnixMilli(); ms < 1e11 && time.Unix(ms, 0).After(now.Add(-24*time.Hour)) && time.Unix(ms, 0).Before(now.Add(24*time.Hour)) {
		details["hint"] = "timestamp looks like seconds; send milliseconds since the Unix epoch"
	}
	return e.WithDetails(details)
}

// whyInvalid explains a signature that did not verify for wallet: the
// address its key recovers to (on this network), so a client sees whether
// another wallet signed or other text than message was signed. Nothing
// secret is echoed: the address follows from what the client sent.
func (v *Verifier) whyInvalid(env Envelope, wallet stacks.Address, err error) map[string]any {
	details := map[string]any{"claimedAddress": wallet.String()}
	if errors.Is(err, stacks.ErrHighS) {
		details["reason"] = "signature has a high S value; wallets and the reference libraries produce low S"
		return details
	}
	cands, derr := stacks.DecodeSignature(env.Signature)
	if derr != nil || len(cands) == 0 {
		return details
	}
	pub, rerr := stacks.RecoverPublicKey(stacks.HashMessage([]byte(env.Message)), cands[0])
	if rerr != nil {
		details["reason"] = "no public key recovers from this signature"
		return details
	}
	if a, aerr := stacks.AddressFromPublicKey(pub, v.cfg.Network); aerr == nil {
		details["recoveredAddress"] = a.String()
		details["reason"] = "the signature recovers another wallet: a different key signed, or it signed other text than message (sign the exact message string)"
	}
	return details
}

// checkNetwork binds a message to this gateway's network. SP… and ST…
// addresses of one key share their hash160, so the address alone does not:
// on testnet "network":"testnet" is required; on mainnet the field is
// optional (the reference docs' messages have none) and must say "mainnet".
func (v *Verifier) checkNetwork(m *Message) error {
	gateway := v.cfg.Network.String()
	if !m.Has("network") {
		if v.cfg.Network == stacks.Testnet {
			return ErrNetworkMissing.WithDetails(map[string]any{"gatewayNetwork": gateway})
		}
		return nil
	}
	var n string
	if err := m.Field("network", &n); err != nil {
		return err
	}
	if n != gateway {
		return ErrNetwork.WithDetails(map[string]any{"messageNetwork": n, "gatewayNetwork": gateway})
	}
	return nil
}

// checkDomain binds a message to one deployment: with a configured domain
// the field is required and must equal it; without one, a message naming a
// domain was meant for another deployment.
func (v *Verifier) checkDomain(m *Message) error {
	if !m.Has("domain") {
		if v.cfg.Domain != "" {
			return ErrDomainMissing.WithDetails(map[string]any{"gatewayDomain": v.cfg.Domain})
		}
		return nil
	}
	var d string
	if err := m.Field("domain", &d); err != nil {
		return err
	}
	if d != v.cfg.Domain {
		details := map[string]any{"messageDomain": d, "gatewayDomain": v.cfg.Domain}
		if v.cfg.Domain == "" {
			details["gatewayDomain"] = nil
		}
		return ErrDomain.WithDetails(details)
	}
	return nil
}

var (
	errNotObject    = fault.Invalid("message", "message must be a JSON object").WithCode(fault.CodeMessageNotJSON)
	errTrailingData = fault.Invalid("message", "message must be a single JSON object").WithCode(fault.CodeMessageNotJSON)
)

// strictError is the answer to a message strictjson refused (nil: accepted):
// a message that could mean two things — duplicate keys (the wallet shows
// both, encoding/json keeps the last), \u-escaped printable ASCII (the wallet
// shows the escape, we would act on the letter), invalid UTF-8 or lone
// surrogates (decoded to U+FFFD) — or no single JSON object.
func strictError(err *strictjson.Error) error {
	if err == nil {
		return nil
	}
	at := map[string]any{"field": "message", "offset": err.Offset}
	switch err.Reason {
	case strictjson.DuplicateKey:
		at["key"], at["path"] = err.Key, err.Path
		return fault.Invalid("", "message has a duplicate key").WithCode(fault.CodeMessageDuplicateKey).WithDetails(at).Wrap(err)
	case strictjson.EscapedASCII:
		return fault.Invalid("", `message must not \u-escape printable ASCII characters`).WithCode(fault.CodeMessageEscapedASCII).WithDetails(at).Wrap(err)
	case strictjson.InvalidUTF8:
		return fault.Invalid("", "message must be valid UTF-8 (no unpaired surrogates)").WithCode(fault.CodeMessageInvalidUTF8).WithDetails(at).Wrap(err)
	case strictjson.TooDeep:
		return fault.Invalidf("", "message nests deeper than %d levels", strictjson.MaxDepth).WithCode(fault.CodeMessageNotJSON).WithDetails(at).Wrap(err)
	case strictjson.TrailingData:
		return errTrailingData.Wrap(err)
	}
	return errNotObject.Wrap(err)
}

// parseMessage checks raw (strict) and takes its members in the same pass:
// what encoding/json would decode into a map of raw values (no duplicate key
// can differ, strict refuses them), without a decoder and its buffers.
func parseMessage(raw string) (*Message, error) {
	fields := make(map[string]json.RawMessage, 8)
	if err := strictError(strictjson.CheckObjectMembers([]byte(raw), func(k string, v []byte) { fields[k] = v })); err != nil {
		return nil, err
	}
	m := &Message{Raw: raw, fields: fields}
	if err := m.Field("action", &m.Action); err != nil {
		return nil, err
	}
	ms, err := timestampMillis(m)
	if err != nil {
		return nil, err
	}
	if ms <= 0 {
		return nil, errTimestamp
	}
	m.Timestamp = time.UnixMilli(ms)
	return m, nil
}

var errTimestamp = fault.Invalid("message.timestamp", "message.timestamp must be a positive integer of milliseconds since the Unix epoch")

// timestampMillis reads the timestamp field: a JSON integer (a quoted
// number, a fraction or an exponent is errTimestamp). Plain digits, what
// clients send, are parsed directly; anything else as a json.Number.
func timestampMillis(m *Message) (int64, error) {
	raw := m.fields["timestamp"]
	if digits(raw) {
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return 0, errTimestamp
		}
		return ms, nil
	}
	var ts json.Number
	if err := m.Field("timestamp", &ts); err != nil {
		return 0, err
	}
	ms, err := ts.Int64()
	if err != nil || bytes.HasPrefix(raw, []byte(`"`)) {
		return 0, errTimestamp
	}
	return ms, nil
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
