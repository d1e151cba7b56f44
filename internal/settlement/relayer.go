package settlement

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// Relayer defaults.
const (
	DefaultAttemptTimeout = 10 * time.Second
	DefaultMaxAttempts    = 3
	DefaultBackoff        = 200 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second

	maxResponseBytes = 64 << 10
	maxMessageBytes  = 200
)

// RelayerOptions tunes a Relayer; zero values take the defaults.
type RelayerOptions struct {
	// HTTPClient sends the requests. The default follows no redirects (a
	// redirected POST could be replayed elsewhere or turned into a GET).
	HTTPClient *http.Client
	// AttemptTimeout bounds one request, response body included (default 10s).
	AttemptTimeout time.Duration
	// MaxAttempts is how many requests one Settle makes at most (default 3).
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles with each
	// further one, with jitter, up to MaxBackoff (defaults 200ms and 2s). A
	// Retry-After from the relayer lengthens the wait up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Logger receives one line per failed attempt (nil discards). The order
	// signature is never logged.
	Logger *slog.Logger
}

// Relayer settles orders by POSTing them to a relayer service that submits
// the chain transaction. The order uuid is the Idempotency-Key: retries and
// later reconciliation ask under the same key, and the relayer answers with
// the first transaction instead of making another.
type Relayer struct {
	url  string
	opts RelayerOptions
}

var _ order.Settlement = (*Relayer)(nil)

// WorstCase is the longest one Settle can take: every attempt timing out,
// each wait between them at its cap.
func (r *Relayer) WorstCase() time.Duration {
	return time.Duration(r.opts.MaxAttempts)*r.opts.AttemptTimeout + time.Duration(r.opts.MaxAttempts-1)*r.opts.MaxBackoff
}

// NewRelayer returns a Relayer posting to url.
func NewRelayer(url string, opts RelayerOptions) *Relayer {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.Backoff {
		opts.MaxBackoff = opts.Backoff
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Relayer{url: url, opts: opts}
}

// Name implements order.Settlement.
func (r *Relayer) Name() string { return "relayer" }

// relayRequest is the body of a settlement request. amountIn stays a string
// (it may exceed 2^53); validFrom/validTo are unix seconds, as signed.
type relayRequest struct {
	UUID string `json:"uuid"`
	ordersig.Terms
	Signature string `json:"signature"`
	ValidFrom int64  `json:"validFrom"`
	ValidTo   int64  `json:"validTo"`
}

// attempt is what one request taught us.
type attempt struct {
	txid       string
	rejected   error         // definitive: nothing was settled
	retry      bool          // worth asking again under the same key
	retryAfter time.Duration // the relayer's Retry-After, if any
	err        error         // why this attempt did not succeed
}

// Settle implements order.Settlement. It returns a txid, an error wrapping
// order.ErrSettlementRejected (the relayer refused: nothing was settled), or
// an error wrapping ErrOutcomeUnknown (the order may have been settled).
func (r *Relayer) Settle(ctx context.Context, o *order.Order) (string, error) {
	if o == nil || o.UUID == "" {
		return "", fmt.Errorf("%w: order without uuid", order.ErrSettlementRejected)
	}
	body, err := json.Marshal(relayRequest{
		UUID: o.UUID, Terms: o.Terms(), Signature: o.Signature,
		ValidFrom: o.ValidFrom.Unix(), ValidTo: o.ValidTo.Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("%w: encode relayer request: %w", order.ErrSettlementRejected, err)
	}
	log := r.opts.Logger.With(slog.String("uuid", o.UUID), slog.String("settlement", r.Name()))
	var last attempt
	for n := 1; ; n++ {
		last = r.attempt(ctx, o.UUID, body)
		switch {
		case last.err == nil:
			return last.txid, nil
		case last.rejected != nil:
			log.Info("relayer rejected the order", slog.Int("attempt", n), slog.Any("error", last.rejected))
			return "", last.rejected
		}
		log.Warn("relayer attempt failed", slog.Int("attempt", n), slog.Int("maxAttempts", r.opts.MaxAttempts),
			slog.Bool("retry", last.retry && n < r.opts.MaxAttempts), slog.Any("error", last.err))
		if !last.retry || n >= r.opts.MaxAttempts {
			return "", fmt.Errorf("%w: relayer, %d attempt(s): %w", ErrOutcomeUnknown, n, last.err)
		}
		wait := r.backoff(n, last.retryAfter)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("%w: relayer, %d attempt(s), then %w (last: %w)", ErrOutcomeUnknown, n, ctx.Err(), last.err)
		case <-t.C:
		}
	}
}

// attempt sends one request under its own timeout.
func (r *Relayer) attempt(ctx context.Context, uuid string, body []byte) attempt {
	if err := ctx.Err(); err != nil {
		return attempt{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		// Nothing was sent, but this is a configuration fault, not a verdict
		// on the order: leave it executing rather than reopen it.
		return attempt{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", uuid)
	req.Header.Set("User-Agent", "stxgate-settlement")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		// Network error or timeout: the relayer may have acted on it.
		return attempt{retry: true, err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes)) // let the connection be reused
	code := resp.StatusCode
	if err != nil {
		return attempt{retry: true, err: fmt.Errorf("read response (HTTP %d): %w", code, err)}
	}
	switch {
	case code == http.StatusOK || code == http.StatusCreated:
		var out struct {
			TxID string `json:"txid"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return attempt{err: fmt.Errorf("HTTP %d with an unreadable body: %w", code, err)}
		}
		txid, ok := normalizeTxID(out.TxID)
		if !ok {
			// The relayer claims success but we cannot record what it did;
			// reconciliation asks again later rather than retrying now.
			return attempt{err: fmt.Errorf("HTTP %d with a malformed txid %q", code, clip(out.TxID))}
		}
		return attempt{txid: txid}
	case code >= 400 && code < 500 && !retryable4xx(code):
		msg := relayerMessage(raw, code)
		return attempt{
			rejected: fmt.Errorf("%w: %s (relayer HTTP %d)", order.ErrSettlementRejected, msg, code),
			err:      errors.New(msg),
		}
	default:
		// 5xx, 408, 409 (same key in flight), 425, 429, and anything
		// unexpected: ask again under the same key.
		return attempt{
			retry:      true,
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
			err:        fmt.Errorf("relayer HTTP %d: %s", code, relayerMessage(raw, code)),
		}
	}
}

func retryable4xx(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return false
}

// backoff is the wait after attempt n (1-based): Backoff·2^(n-1) with up to
// 50% jitter, at least the relayer's Retry-After, capped at MaxBackoff.
func (r *Relayer) backoff(n int, retryAfter time.Duration) time.Duration {
	d := r.opts.Backoff << min(n-1, 20)
	if d <= 0 || d > r.opts.MaxBackoff {
		d = r.opts.MaxBackoff
	}
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	d = max(d, retryAfter)
	return min(d, r.opts.MaxBackoff)
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// normalizeTxID accepts 64 hex digits, with or without 0x, in any case, and
// returns "0x" + lower-case hex.
func normalizeTxID(s string) (string, bool) {
	h := s
	if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if len(h) != 64 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return "0x" + strings.ToLower(h), true
}

// relayerMessage is the relayer's own explanation: "error" or "message" of a
// JSON body, else the status text; printable and short, since it may reach
// the client and the log.
func relayerMessage(raw []byte, code int) string {
	var body struct {
		Error   any `json:"error"`
		Message any `json:"message"`
	}
	msg := ""
	if json.Unmarshal(raw, &body) == nil {
		for _, v := range []any{body.Error, body.Message} {
			switch v := v.(type) {
			case string:
				msg = v
			case map[string]any: // {"error": {"message": "..."}}
				if m, ok := v["message"].(string); ok {
					msg = m
				}
			}
			if strings.TrimSpace(msg) != "" {
				break
			}
		}
	}
	msg = clip(msg)
	if msg == "" {
		if msg = http.StatusText(code); msg == "" {
			msg = "HTTP " + strconv.Itoa(code)
		}
	}
	return msg
}

// longHex is a run of hex digits as long as a signature's (65 bytes are 130
// digits; txids and hashes, at 64, stay readable).
var longHex = regexp.MustCompile(`(?i)(0x)?[0-9a-f]{100,}`)

// clip keeps printable characters and at most maxMessageBytes of them, with
// anything shaped like a signature redacted: a relayer that echoes the order
// back must not put the signature in our logs or in a client's error.
func clip(s string) string {
	s = longHex.ReplaceAllString(s, "[redacted]")
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
