// Package client is the Go SDK of stxgate: typed calls for every endpoint,
// wallet-signed calls through a Signer, keyed calls with an API key, typed
// errors carrying the rate-limit state, and opt-in retries on 429.
//
//	c := client.New("http://127.0.0.1:8080", client.WithAPIKey(os.Getenv("STXGATE_API_KEY")))
//	txid, err := c.ExecuteOrder(ctx, uuid)
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == 429 { ... apiErr.RateLimit.Reset ... }
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Signer signs wallet messages. PrivateKeySigner keeps a key in memory; a
// hardware wallet or KMS can implement it too.
type Signer interface {
	// Address is the wallet's address on network n.
	Address(n stacks.Network) string
	// SignMessage signs msg as stx_signMessage does (RSV hex).
	SignMessage(ctx context.Context, msg []byte) (string, error)
	// SignStructured signs SIP-018 structured data (RSV hex).
	SignStructured(ctx context.Context, domain, message stacks.Value) (string, error)
}

// PrivateKeySigner signs with an in-memory private key.
type PrivateKeySigner struct{ Key *stacks.PrivateKey }

// Address implements Signer.
func (s PrivateKeySigner) Address(n stacks.Network) string { return s.Key.Address(n).String() }

// SignMessage implements Signer.
func (s PrivateKeySigner) SignMessage(_ context.Context, msg []byte) (string, error) {
	return stacks.SignMessage(s.Key, msg), nil
}

// SignStructured implements Signer.
func (s PrivateKeySigner) SignStructured(_ context.Context, domain, message stacks.Value) (string, error) {
	return stacks.SignStructuredData(s.Key, domain, message), nil
}

// Client calls one gateway. It is safe for concurrent use.
type Client struct {
	base        string
	http        *http.Client
	apiKey      string
	signer      Signer
	network     stacks.Network
	domain      stacks.Domain
	now         func() time.Time
	retry429    int
	maxRetryDur time.Duration

	mu   sync.Mutex
	last RateLimit
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the key for keyed calls.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithSigner sets the wallet for wallet-signed calls and order signing.
func WithSigner(s Signer) Option { return func(c *Client) { c.signer = s } }

// WithNetwork selects testnet addresses and the testnet SIP-018 domain (default mainnet).
func WithNetwork(n stacks.Network) Option {
	return func(c *Client) { c.network = n; c.domain = stacks.NewDomain(c.domain.Name, c.domain.Version, n) }
}

// WithDomain sets the SIP-018 domain name and version orders are signed under
// (default "stxgate", "1": the gateway's defaults).
func WithDomain(name, version string) Option {
	return func(c *Client) { c.domain = stacks.NewDomain(name, version, c.network) }
}

// WithHTTPClient replaces the HTTP client (timeouts, transports).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithClock sets the clock used for message timestamps.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRetryOn429 retries a refused call up to n times, waiting as the
// gateway says (Retry-After, else X-RateLimit-Reset), never longer than max per wait.
func WithRetryOn429(n int, max time.Duration) Option {
	return func(c *Client) { c.retry429, c.maxRetryDur = n, max }
}

// New returns a client of the gateway at baseURL (e.g. "http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:    strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Timeout: 30 * time.Second},
		network: stacks.Mainnet,
		domain:  stacks.NewDomain("stxgate", "1", stacks.Mainnet),
		now:     time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// RateLimit is the X-RateLimit-* state of the last answer.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time
	Window    time.Duration
	RetryIn   time.Duration // Retry-After of a 429
}

// LastRateLimit returns the rate-limit state of the most recent answer that had one.
func (c *Client) LastRateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// APIError is a non-2xx answer.
type APIError struct {
	Status    int
	Message   string
	Details   map[string]any
	Timestamp string
	RateLimit *RateLimit
}

func (e *APIError) Error() string { return fmt.Sprintf("stxgate: %d %s", e.Status, e.Message) }

// ErrNoSigner is returned by wallet-signed calls on a client without a Signer.
var ErrNoSigner = errors.New("stxgate: this call needs a wallet signer (WithSigner)")

// ErrNoAPIKey is returned by keyed calls on a client without an API key.
var ErrNoAPIKey = errors.New("stxgate: this call needs an API key (WithAPIKey)")

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
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("stxgate: build request: %w", err)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		for k, v := range r.headers {
			req.Header.Set(k, v)
		}
		if r.keyed {
			if c.apiKey == "" {
				return ErrNoAPIKey
			}
			req.Header.Set("X-API-Key", c.apiKey)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("stxgate: %s %s: %w", r.method, r.path, err)
		}
		err = c.read(resp, out)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests && attempt < c.retry429 {
			wait := apiErr.RateLimit.RetryIn
			if wait <= 0 {
				wait = time.Until(apiErr.RateLimit.Reset)
			}
			wait = min(max(wait, 100*time.Millisecond), c.maxRetryDur)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
				continue
			}
		}
		return err
	}
}

func (c *Client) read(resp *http.Response, out any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("stxgate: read answer: %w", err)
	}
	rl := parseRateLimit(resp.Header)
	if rl != nil {
		c.mu.Lock()
		c.last = *rl
		c.mu.Unlock()
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{Status: resp.StatusCode, RateLimit: rl}
		var eb struct {
			Error     string         `json:"error"`
			Details   map[string]any `json:"details"`
			Timestamp string         `json:"timestamp"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			apiErr.Message, apiErr.Details, apiErr.Timestamp = eb.Error, eb.Details, eb.Timestamp
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
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("stxgate: decode answer: %w", err)
	}
	return nil
}

func parseRateLimit(h http.Header) *RateLimit {
	if h.Get("X-RateLimit-Limit") == "" {
		return nil
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(h.Get(k)); return n }
	rl := &RateLimit{
		Limit:     atoi("X-RateLimit-Limit"),
		Remaining: atoi("X-RateLimit-Remaining"),
		Reset:     time.Unix(int64(atoi("X-RateLimit-Reset")), 0),
		Window:    time.Duration(atoi("X-RateLimit-Window")) * time.Second,
	}
	if ra := atoi("Retry-After"); ra > 0 {
		rl.RetryIn = time.Duration(ra) * time.Second
	}
	return rl
}

// signed builds the body of a wallet-signed call from a message object.
func (c *Client) signed(ctx context.Context, msg map[string]any) (map[string]string, error) {
	if c.signer == nil {
		return nil, ErrNoSigner
	}
	msg["timestamp"] = c.now().UnixMilli()
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("stxgate: encode message: %w", err)
	}
	sig, err := c.signer.SignMessage(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("stxgate: sign message: %w", err)
	}
	return map[string]string{"message": string(raw), "signature": sig, "walletAddress": c.signer.Address(c.network)}, nil
}

// signedHeaders is signed as X-Message / X-Signature / X-Wallet-Address headers (for GET).
func (c *Client) signedHeaders(ctx context.Context, msg map[string]any) (map[string]string, error) {
	b, err := c.signed(ctx, msg)
	if err != nil {
		return nil, err
	}
	return map[string]string{"X-Message": b["message"], "X-Signature": b["signature"], "X-Wallet-Address": b["walletAddress"]}, nil
}
