// Package client is the Go SDK of stxgate: typed calls for every endpoint,
// wallet-signed calls through a Signer, keyed calls with an API key, the
// operator API with the operator token, typed errors, the rate-limit state
// of every call, and opt-in retries on 429.
//
// New reads the gateway's /api/v1/info once, so the client signs for the
// gateway's network and domains without further setup:
//
//	c, err := client.New(ctx, "127.0.0.1:8080", client.WithAPIKey(os.Getenv("STXGATE_API_KEY")))
//	ex, resp, err := c.ExecuteOrder(ctx, uuid) // ex.TxID, ex.State, ex.Settlement
//	// resp.RateLimit.Remaining: what this call left of the key's budget
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == client.CodeRateLimited { ... apiErr.RateLimit.Reset ... }
//
// Key management and order creation need the wallet: WithSigner takes a
// PrivateKeySigner, a HashSigner around an HSM or KMS, or any Signer.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Client calls one gateway. It holds no state that calls change, so one
// Client serves any number of goroutines; each call's rate-limit state comes
// back with that call (Response, APIError).
type Client struct {
	base          string // scheme://[user:password@]host[:port][/path], no trailing slash
	shownBase     string // base with the password masked: the only form errors show
	http          *http.Client
	apiKey        string
	operatorToken string
	signer        MessageSigner
	network       stacks.Network
	networkSet    bool // WithNetwork: a gateway of another network is refused
	domain        stacks.Domain
	messageDomain string // the gateway's STXGATE_DOMAIN ("" when it has none)
	info          Info
	now           func() time.Time

	reconnectDelay time.Duration // OrderEvents' wait before reconnecting
	retry429       int
	maxRetryDur    time.Duration
	userAgent      string
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the key for keyed calls (sent as X-API-Key).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = strings.TrimSpace(key) } }

// WithOperatorToken sets the gateway's operator token (STXGATE_OPERATOR_TOKEN)
// for the Admin calls (sent as Authorization: Bearer, to those calls only).
func WithOperatorToken(token string) Option {
	return func(c *Client) { c.operatorToken = strings.TrimSpace(token) }
}

// WithSigner sets the wallet for wallet-signed calls and order signing.
func WithSigner(s Signer) Option { return func(c *Client) { c.signer = s } }

// WithMessageSigner sets a wallet that signs messages only: enough for key
// management and signed execute/cancel, not for CreateOrder (ErrNoOrderSigner).
func WithMessageSigner(s MessageSigner) Option { return func(c *Client) { c.signer = s } }

// WithNetwork makes New refuse a gateway of the other network: a bot set up
// for testnet never signs for mainnet by a wrong URL. Without it the client
// takes the gateway's network.
func WithNetwork(n stacks.Network) Option {
	return func(c *Client) { c.network, c.networkSet = n, true }
}

// WithHTTPClient replaces the HTTP client (timeouts, transports); nil keeps
// the default (30 s timeout).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithClock sets the clock used for message timestamps and order validity defaults.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithUserAgent sets the User-Agent header (default "stxgate-go-client").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetryOn429 retries a call refused with 429 up to n times, waiting as the
// gateway says (Retry-After, else X-RateLimit-Reset), never longer than max
// per wait. A refused call did nothing, so retrying it is safe. Off by default.
func WithRetryOn429(n int, max time.Duration) Option {
	return func(c *Client) { c.retry429, c.maxRetryDur = n, max }
}

// New returns a client of the gateway at baseURL: "https://gw.example",
// "http://127.0.0.1:8080", or a bare "host:port" (http). It reads the
// gateway's /api/v1/info, so every signed message and order carries the
// gateway's network and domains; an unreachable gateway, a gateway of
// another network than WithNetwork's, or a signer without a valid address
// is an error here rather than at the first call. A password in baseURL is
// sent (basic auth) but never shown in an error.
func New(ctx context.Context, baseURL string, opts ...Option) (*Client, error) {
	base, shown, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		shownBase: shown,
		http:      &http.Client{Timeout: 30 * time.Second},
		now:       time.Now,
		userAgent: "stxgate-go-client",

		reconnectDelay: DefaultReconnectDelay,
	}
	for _, o := range opts {
		o(c)
	}
	info, _, err := c.Info(ctx)
	if err != nil {
		return nil, err // names /api/v1/info
	}
	n, err := stacks.ParseNetwork(info.Network)
	if err != nil {
		return nil, fmt.Errorf("stxgate: %s/api/v1/info: %w", c.shownBase, err)
	}
	if c.networkSet && n != c.network {
		return nil, fmt.Errorf("stxgate: the gateway at %s runs on %s, this client is for %s (WithNetwork)", c.shownBase, n, c.network)
	}
	c.network, c.info = n, *info
	c.domain = stacks.Domain{Name: info.SIP018Domain.Name, Version: info.SIP018Domain.Version, ChainID: info.SIP018Domain.ChainID}
	if _, err := c.domain.Value(); err != nil {
		return nil, fmt.Errorf("stxgate: %s/api/v1/info: SIP-018 domain: %w", c.shownBase, err)
	}
	if info.MessageDomain != nil {
		c.messageDomain = *info.MessageDomain
	}
	if c.signer != nil {
		a, err := stacks.ParseAddress(c.signer.Address(n))
		if an, ok := a.Network(); err != nil || !ok || an != n {
			return nil, fmt.Errorf("stxgate: the signer has no valid %s address (a PrivateKeySigner without a key?)", n)
		}
	}
	return c, nil
}

// parseBaseURL checks a gateway URL and returns it without a trailing slash,
// and the form errors may show (password masked). Its own errors never
// repeat the input: it may hold a password.
func parseBaseURL(raw string) (base, shown string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", errors.New("stxgate: no gateway URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // host:port
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errors.New("stxgate: the gateway URL is not a URL (want http[s]://host[:port][/path] or host:port)")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("stxgate: gateway URL %s: scheme %q, want http or https", u.Redacted(), u.Scheme)
	case u.Host == "":
		return "", "", errors.New("stxgate: the gateway URL has no host")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", "", fmt.Errorf("stxgate: gateway URL %s has a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), u.Redacted(), nil
}

// Network is the gateway's network: the one the client signs for.
func (c *Client) Network() stacks.Network { return c.network }

// Domain is the gateway's SIP-018 domain: the one orders are signed under.
func (c *Client) Domain() stacks.Domain { return c.domain }

// GatewayInfo is the gateway's /api/v1/info as New read it.
func (c *Client) GatewayInfo() Info { return c.info }

// Response is what a call learned beside its result. Every call that got an
// answer returns one (also with an error); it is nil when no answer came
// (a local error, the gateway unreachable).
type Response struct {
	Status    int       // HTTP status
	RequestID string    // X-Request-Id: quote it when reporting a problem
	RateLimit RateLimit // this call's rate-limit state (zero when the answer had none)
}

// RateLimit is the rate-limit state of one answer: the X-RateLimit-*
// headers, which describe the tightest of the windows that counted the
// request. It is zero (Limit 0) when the answer had none: a public call, or
// an answer served while the gateway's limiter was down.
type RateLimit struct {
	Limit     int           // X-RateLimit-Limit
	Remaining int           // X-RateLimit-Remaining, counting this request
	Reset     time.Time     // X-RateLimit-Reset: when the oldest counted request leaves the window
	Window    time.Duration // X-RateLimit-Window
	RetryIn   time.Duration // Retry-After of a 429 (0 otherwise)
}

// APIError is a non-2xx answer of the gateway. Its Response (status, request
// id, rate-limit state) is that of the refused call.
type APIError struct {
	Response
	Message   string         // the body's "error" (the status text if the body had none)
	Code      ErrorCode      // the body's "code": stable, branch on it (CodeRateLimited, CodeInvalidAPIKey, …)
	Details   map[string]any // the body's "details", if any
	Timestamp string         // the body's "timestamp"
}

func (e *APIError) Error() string { return fmt.Sprintf("stxgate: %d %s", e.Status, e.Message) }

// Temporary reports whether the same call may succeed later unchanged: rate
// limited (429), a backing store down (503), or a settlement the chain or
// relayer rejected (502 settlement_failed: the order is open again). A 502
// settlement_unknown is not temporary: the order stays executing until the
// gateway reconciles it, and an execute sent again is refused with
// order_not_open; read the order (GetOrder) to learn its outcome.
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusBadGateway:
		return e.Code == CodeSettlementFailed
	}
	return false
}

var (
	// ErrNoSigner is returned by wallet-signed calls on a client without a signer.
	ErrNoSigner = errors.New("stxgate: this call needs a wallet signer (WithSigner)")
	// ErrNoOrderSigner is returned by order signing when the signer signs messages only.
	ErrNoOrderSigner = errors.New("stxgate: signing orders needs a Signer with SignStructured (WithSigner)")
	// ErrNoAPIKey is returned by keyed calls on a client without an API key.
	ErrNoAPIKey = errors.New("stxgate: this call needs an API key (WithAPIKey)")
	// ErrUnreachable wraps transport failures: the gateway could not be
	// reached or gave no answer. The call may or may not have taken effect.
	ErrUnreachable = errors.New("gateway unreachable")
)

type request struct {
	method, path string
	body         any
	headers      map[string]string
	keyed        bool
}

// do sends r and decodes a 2xx JSON answer into out. The Response is nil
// when no answer came; with an *APIError it is the error's.
func (c *Client) do(ctx context.Context, r request, out any) (*Response, error) {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("stxgate: encode request: %w", err)
		}
		payload = b
	}
	if r.keyed && c.apiKey == "" {
		return nil, ErrNoAPIKey
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
		if err != nil {
			return nil, fmt.Errorf("stxgate: build request %s %s%s: %w", r.method, c.shownBase, r.path, unwrapURLError(err))
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		for k, v := range r.headers {
			req.Header.Set(k, v)
		}
		if r.keyed {
			req.Header.Set("X-API-Key", c.apiKey)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("stxgate: %s %s: %w", r.method, r.path, ctx.Err())
			}
			return nil, fmt.Errorf("stxgate: %s %s%s: %w: %w", r.method, c.shownBase, r.path, ErrUnreachable, unwrapURLError(err))
		}
		meta, err := c.read(resp, out)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests && attempt < c.retry429 {
			if err := sleep(ctx, c.retryWait(apiErr.RateLimit)); err != nil {
				return meta, err
			}
			continue
		}
		return meta, err
	}
}

// retryWait is how long to wait before retrying a 429: what the gateway said,
// at least 100ms, at most the configured maximum.
func (c *Client) retryWait(rl RateLimit) time.Duration {
	wait := rl.RetryIn
	if wait <= 0 && !rl.Reset.IsZero() {
		wait = rl.Reset.Sub(c.now())
	}
	return min(max(wait, 100*time.Millisecond), c.maxRetryDur)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// unwrapURLError drops net/http's `Get "url":` prefix: the caller's message
// names the call, and the URL may hold a password.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// read turns an answer into its Response and, for a 2xx, decodes it into out.
func (c *Client) read(resp *http.Response, out any) (*Response, error) {
	defer resp.Body.Close()
	meta := &Response{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"), RateLimit: parseRateLimit(resp.Header)}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return meta, fmt.Errorf("stxgate: read answer: %w: %w", ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{Response: *meta}
		var eb struct {
			Error     string         `json:"error"`
			Code      ErrorCode      `json:"code"`
			Details   map[string]any `json:"details"`
			Timestamp string         `json:"timestamp"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			apiErr.Message, apiErr.Code, apiErr.Details, apiErr.Timestamp = eb.Error, eb.Code, eb.Details, eb.Timestamp
		} else {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		return meta, apiErr
	}
	if out == nil {
		return meta, nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = body
		return meta, nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return meta, fmt.Errorf("stxgate: decode answer: %w", err)
	}
	return meta, nil
}

func parseRateLimit(h http.Header) RateLimit {
	if h.Get("X-RateLimit-Limit") == "" {
		return RateLimit{}
	}
	atoi := func(k string) int64 { n, _ := strconv.ParseInt(h.Get(k), 10, 64); return n }
	rl := RateLimit{
		Limit:     int(atoi("X-RateLimit-Limit")),
		Remaining: int(atoi("X-RateLimit-Remaining")),
		Window:    time.Duration(atoi("X-RateLimit-Window")) * time.Second,
	}
	if reset := atoi("X-RateLimit-Reset"); reset > 0 {
		rl.Reset = time.Unix(reset, 0)
	}
	if ra := atoi("Retry-After"); ra > 0 {
		rl.RetryIn = time.Duration(ra) * time.Second
	}
	return rl
}
