// Package client is the Go SDK of stxgate: typed calls for every endpoint,
// wallet-signed calls through a Signer, keyed calls with an API key, typed
// errors carrying the rate-limit state, and opt-in retries on 429.
//
// A bot that executes its wallet's orders needs only an API key:
//
//	c := client.New("http://127.0.0.1:8080", client.WithAPIKey(os.Getenv("STXGATE_API_KEY")))
//	ex, err := c.ExecuteOrder(ctx, uuid) // ex.TxID, ex.State, ex.Settlement ("simulated": no chain transaction)
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == 429 { ... apiErr.RateLimit.Reset ... }
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
	"sync"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Client calls one gateway. It is safe for concurrent use.
type Client struct {
	base        string
	http        *http.Client
	apiKey      string
	signer      MessageSigner
	network     stacks.Network
	domain      stacks.Domain
	now         func() time.Time
	retry429    int
	maxRetryDur time.Duration
	userAgent   string
	// messageDomain, when set, is the "domain" of every signed message.
	messageDomain string
	// networkSet and messageDomainSet record explicit choices; what was not
	// chosen is taken from the gateway's /api/v1/info before the first
	// signed message (see binding).
	networkSet, messageDomainSet bool

	mu   sync.Mutex
	last RateLimit

	bindMu sync.Mutex
	bound  *messageBinding // from /api/v1/info, once read
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the key for keyed calls (sent as X-API-Key).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithSigner sets the wallet for wallet-signed calls and order signing.
func WithSigner(s Signer) Option { return func(c *Client) { c.signer = s } }

// WithMessageSigner sets a wallet that signs messages only: enough for key
// management and signed execute/cancel, not for CreateOrder (ErrNoOrderSigner).
func WithMessageSigner(s MessageSigner) Option { return func(c *Client) { c.signer = s } }

// WithNetwork selects testnet addresses and the testnet SIP-018 domain
// (default mainnet). Without it, signed messages take the network from the
// gateway's /api/v1/info; with it, a gateway of the other network is refused
// before anything is signed.
func WithNetwork(n stacks.Network) Option {
	return func(c *Client) {
		c.network, c.networkSet = n, true
		c.domain = stacks.NewDomain(c.domain.Name, c.domain.Version, n)
	}
}

// WithDomain sets the SIP-018 domain name and version orders are signed under
// (default "stxgate", "1": the gateway's defaults, STXGATE_SIP018_NAME / _VERSION).
func WithDomain(name, version string) Option {
	return func(c *Client) { c.domain = stacks.NewDomain(name, version, c.network) }
}

// WithMessageDomain adds "domain": d to every signed message, binding it to
// the one deployment whose STXGATE_DOMAIN is d. Without it, the domain comes
// from the gateway's /api/v1/info (Info.MessageDomain).
func WithMessageDomain(d string) Option {
	return func(c *Client) { c.messageDomain, c.messageDomainSet = d, true }
}

// WithHTTPClient replaces the HTTP client (timeouts, transports).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

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

// New returns a client of the gateway at baseURL (e.g. "http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		http:      &http.Client{Timeout: 30 * time.Second},
		network:   stacks.Mainnet,
		domain:    stacks.NewDomain("stxgate", "1", stacks.Mainnet),
		now:       time.Now,
		userAgent: "stxgate-go-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Network is the network the client signs for.
func (c *Client) Network() stacks.Network { return c.network }

// Domain is the SIP-018 domain the client signs orders under.
func (c *Client) Domain() stacks.Domain { return c.domain }

// RateLimit is the rate-limit state of an answer: the X-RateLimit-* headers,
// which describe the tightest of the windows that counted the request.
type RateLimit struct {
	Limit     int           // X-RateLimit-Limit
	Remaining int           // X-RateLimit-Remaining, counting this request
	Reset     time.Time     // X-RateLimit-Reset: when the oldest counted request leaves the window
	Window    time.Duration // X-RateLimit-Window
	RetryIn   time.Duration // Retry-After of a 429 (0 otherwise)
}

// LastRateLimit returns the rate-limit state of the most recent answer that
// had one (answers served while the gateway's limiter is down carry none).
// With concurrent calls on one Client it is the state of one of them.
func (c *Client) LastRateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// APIError is a non-2xx answer of the gateway.
type APIError struct {
	Status    int            // HTTP status
	Message   string         // the body's "error" (the status text if the body had none)
	Code      ErrorCode      // the body's "code": stable, branch on it (CodeRateLimited, CodeInvalidAPIKey, …)
	Details   map[string]any // the body's "details", if any
	Timestamp string         // the body's "timestamp"
	RequestID string         // X-Request-Id: quote it when reporting a problem
	// RateLimit is the answer's rate-limit state; never nil (zero when the
	// answer had no X-RateLimit-* headers).
	RateLimit *RateLimit
}

func (e *APIError) Error() string { return fmt.Sprintf("stxgate: %d %s", e.Status, e.Message) }

// Temporary reports whether the same call may succeed later unchanged:
// rate limited (429), settlement failure upstream (502) or a backing store
// down (503).
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable:
		return true
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

// do sends r and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, r request, out any) error {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("stxgate: encode request: %w", err)
		}
		payload = b
	}
	if r.keyed && c.apiKey == "" {
		return ErrNoAPIKey
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
		if err != nil {
			return fmt.Errorf("stxgate: build request: %w", err)
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
				return fmt.Errorf("stxgate: %s %s: %w", r.method, r.path, ctx.Err())
			}
			return fmt.Errorf("stxgate: %s %s%s: %w: %w", r.method, c.base, r.path, ErrUnreachable, unwrapURLError(err))
		}
		err = c.read(resp, out)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests && attempt < c.retry429 {
			if err := sleep(ctx, c.retryWait(apiErr.RateLimit)); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// retryWait is how long to wait before retrying a 429: what the gateway said,
// at least 100ms, at most the configured maximum.
func (c *Client) retryWait(rl *RateLimit) time.Duration {
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

// unwrapURLError drops net/http's `Get "url":` prefix: the caller's message names the call.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) read(resp *http.Response, out any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("stxgate: read answer: %w: %w", ErrUnreachable, err)
	}
	rl := parseRateLimit(resp.Header)
	if rl != nil {
		c.mu.Lock()
		c.last = *rl
		c.mu.Unlock()
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{Status: resp.StatusCode, RateLimit: rl, RequestID: resp.Header.Get("X-Request-Id")}
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
		if apiErr.RateLimit == nil {
			apiErr.RateLimit = &RateLimit{}
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("stxgate: decode answer: %w", err)
	}
	return nil
}

func parseRateLimit(h http.Header) *RateLimit {
	if h.Get("X-RateLimit-Limit") == "" {
		return nil
	}
	atoi := func(k string) int64 { n, _ := strconv.ParseInt(h.Get(k), 10, 64); return n }
	rl := &RateLimit{
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
