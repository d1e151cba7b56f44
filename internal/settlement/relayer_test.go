package settlement_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
)

const goodTxID = "0x8a5f3c0e1d2b4a6978f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f70"

// received is one request as the fake relayer saw it.
type received struct {
	Method, Path, Body          string
	ContentType, IdempotencyKey string
}

// fakeRelayer records every request and answers with respond(n, req), n
// counting from 1.
type fakeRelayer struct {
	mu       sync.Mutex
	requests []received
	respond  func(n int, w http.ResponseWriter, r *http.Request)
}

func (f *fakeRelayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, received{
		Method: r.Method, Path: r.URL.Path, Body: string(body),
		ContentType: r.Header.Get("Content-Type"), IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	n := len(f.requests)
	f.mu.Unlock()
	f.respond(n, w, r)
}

func (f *fakeRelayer) got() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.requests...)
}

func startRelayer(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) (*fakeRelayer, string) {
	t.Helper()
	f := &fakeRelayer{respond: respond}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/v1/settle"
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fastOpts retries quickly so the tests stay short.
func fastOpts(t *testing.T) settlement.RelayerOptions {
	log, _ := newLogger()
	return settlement.RelayerOptions{AttemptTimeout: 2 * time.Second, MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: log}
}

func assertUnknown(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got success, want an unknown outcome")
	}
	if errors.Is(err, order.ErrSettlementRejected) {
		t.Fatalf("got a rejection (%v), want an unknown outcome: the order may have settled", err)
	}
	if !errors.Is(err, settlement.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want ErrOutcomeUnknown", err)
	}
}

func assertSameKey(t *testing.T, reqs []received, uuid string, want int) {
	t.Helper()
	if len(reqs) != want {
		t.Fatalf("relayer got %d requests, want %d", len(reqs), want)
	}
	for i, r := range reqs {
		if r.IdempotencyKey != uuid {
			t.Fatalf("request %d: Idempotency-Key %q, want %q", i+1, r.IdempotencyKey, uuid)
		}
		if r.Body != reqs[0].Body {
			t.Fatalf("request %d: body differs from the first:\n%s\n%s", i+1, r.Body, reqs[0].Body)
		}
	}
}

func TestRelayerName(t *testing.T) {
	if got := settlement.NewRelayer("http://127.0.0.1:1", settlement.RelayerOptions{}).Name(); got != "relayer" {
		t.Fatalf("Name() = %q, want relayer", got)
	}
}

func TestRelayerSuccessSendsExactRequest(t *testing.T) {
	f, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusCreated, `{"txid":"`+goodTxID+`"}`)
	})
	o := testOrder("order-success_1")
	txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if txid != goodTxID {
		t.Fatalf("txid %s, want %s", txid, goodTxID)
	}
	reqs := f.got()
	if len(reqs) != 1 {
		t.Fatalf("relayer got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/settle" {
		t.Fatalf("request %s %s, want POST /v1/settle", r.Method, r.Path)
	}
	if r.ContentType != "application/json" || r.IdempotencyKey != "order-success_1" {
		t.Fatalf("headers Content-Type %q Idempotency-Key %q", r.ContentType, r.IdempotencyKey)
	}
	want := `{"uuid":"order-success_1",` +
		`"owner":"SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7",` +
		`"inputToken":"SP3K8BC0PPEVCV7NZ6QSRWPQ2JE9E5B6N3PA0KBR9.token-wstx",` +
		`"outputToken":"SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",` +
		`"amountIn":"340282366920938463463374607431768211455",` +
		`"targetPrice":"0.30",` +
		`"direction":"gt",` +
		`"conditionToken":"SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",` +
		`"recipient":"SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE",` +
		`"signature":"` + testSignature + `",` +
		`"validFrom":1767322800,` +
		`"validTo":1767328200}`
	if r.Body != want {
		t.Fatalf("body\n got: %s\nwant: %s", r.Body, want)
	}
}

func TestRelayerNormalisesTxID(t *testing.T) {
	hex := strings.TrimPrefix(goodTxID, "0x")
	for name, sent := range map[string]string{
		"Prefixed":      goodTxID,
		"NoPrefix":      hex,
		"UpperCase":     "0x" + strings.ToUpper(hex),
		"UpperCaseX":    "0X" + strings.ToUpper(hex),
		"NoPrefixUpper": strings.ToUpper(hex),
	} {
		t.Run(name, func(t *testing.T) {
			_, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, http.StatusOK, `{"txid":"`+sent+`"}`)
			})
			txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("norm-1"))
			if err != nil || txid != goodTxID {
				t.Fatalf("got %q, %v; want %s", txid, err, goodTxID)
			}
		})
	}
}

func TestRelayerMalformedTxIDIsUnknownOutcome(t *testing.T) {
	hex := strings.TrimPrefix(goodTxID, "0x")
	for name, body := range map[string]string{
		"TooShort":     `{"txid":"0x` + hex[:63] + `"}`,
		"TooLong":      `{"txid":"0x` + hex + `0"}`,
		"NotHex":       `{"txid":"0x` + hex[:63] + `g"}`,
		"DoublePrefix": `{"txid":"0x0x` + hex[2:] + `"}`,
		"Empty":        `{"txid":""}`,
		"Missing":      `{"status":"ok"}`,
		"NotJSON":      `settled!`,
		"Number":       `{"txid":12}`,
	} {
		t.Run(name, func(t *testing.T) {
			f, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, http.StatusOK, body)
			})
			txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("malformed-1"))
			if txid != "" {
				t.Fatalf("txid %q returned with a malformed answer", txid)
			}
			assertUnknown(t, err)
			// A success answer we cannot read is left to reconciliation
			// rather than hammered now.
			if n := len(f.got()); n != 1 {
				t.Fatalf("relayer got %d requests, want 1", n)
			}
		})
	}
}

func TestRelayerTimeoutRetriesSameKeyThenUnknown(t *testing.T) {
	f, url := startRelayer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select { // sleep past the attempt timeout
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		reply(w, http.StatusOK, `{"txid":"`+goodTxID+`"}`)
	})
	opts := fastOpts(t)
	opts.AttemptTimeout = 50 * time.Millisecond
	start := time.Now()
	txid, err := settlement.NewRelayer(url, opts).Settle(context.Background(), testOrder("slow-1"))
	if txid != "" {
		t.Fatalf("txid %q after timeouts", txid)
	}
	assertUnknown(t, err)
	if !strings.Contains(err.Error(), "3 attempt(s)") {
		t.Fatalf("error %q does not say 3 attempts", err)
	}
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Fatalf("took %v: the attempt timeout was not applied", elapsed)
	}
	assertSameKey(t, f.got(), "slow-1", 3)
}

func TestRelayer5xxThenSuccessOnRetry(t *testing.T) {
	f, url := startRelayer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			reply(w, http.StatusServiceUnavailable, `{"error":"node syncing"}`)
			return
		}
		reply(w, http.StatusOK, `{"txid":"`+goodTxID+`"}`)
	})
	txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("flaky-1"))
	if err != nil || txid != goodTxID {
		t.Fatalf("got %q, %v; want %s", txid, err, goodTxID)
	}
	assertSameKey(t, f.got(), "flaky-1", 2)
}

func TestRelayerRetryableStatusesEndUnknown(t *testing.T) {
	for _, code := range []int{
		http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusAccepted, // not a txid: still in flight
	} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, code, `{"error":"try again"}`)
			})
			_, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("retry-1"))
			assertUnknown(t, err)
			assertSameKey(t, f.got(), "retry-1", 3)
		})
	}
}

// Duplicate409: the relayer already has this key in flight. That is not a
// rejection (the first request may settle), so it is retried and, if it
// never resolves, reported as an unknown outcome.
func TestRelayerDuplicateKey409IsRetriedThenResolves(t *testing.T) {
	f, url := startRelayer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			reply(w, http.StatusConflict, `{"error":"request with this Idempotency-Key is in progress"}`)
			return
		}
		reply(w, http.StatusOK, `{"txid":"`+goodTxID+`"}`)
	})
	txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("dup-1"))
	if err != nil || txid != goodTxID {
		t.Fatalf("got %q, %v; want %s", txid, err, goodTxID)
	}
	assertSameKey(t, f.got(), "dup-1", 3)
}

func TestRelayerRejection4xx(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"ErrorField", `{"error":"insufficient balance"}`, http.StatusBadRequest, "settlement rejected: insufficient balance (relayer HTTP 400)"},
		{"MessageField", `{"message":"price condition not met"}`, http.StatusUnprocessableEntity, "settlement rejected: price condition not met (relayer HTTP 422)"},
		{"NestedError", `{"error":{"code":"E1","message":"nonce too low"}}`, http.StatusBadRequest, "settlement rejected: nonce too low (relayer HTTP 400)"},
		{"PlainText", `forbidden by policy`, http.StatusForbidden, "settlement rejected: Forbidden (relayer HTTP 403)"},
		{"EmptyBody", ``, http.StatusNotFound, "settlement rejected: Not Found (relayer HTTP 404)"},
		{"ControlCharacters", `{"error":"bad\r\nInjected: header\u0000"}`, http.StatusBadRequest, "settlement rejected: bad Injected: header (relayer HTTP 400)"},
		{"SignatureEchoedBack", `{"error":"bad signature 0x` + strings.ToUpper(testSignature) + ` for order"}`, http.StatusBadRequest, "settlement rejected: bad signature [redacted] for order (relayer HTTP 400)"},
		{"Capped", `{"error":"` + long + `"}`, http.StatusBadRequest, "settlement rejected: " + long[:200] + "… (relayer HTTP 400)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				reply(w, tc.code, tc.body)
			})
			txid, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("reject-1"))
			if txid != "" || !errors.Is(err, order.ErrSettlementRejected) {
				t.Fatalf("got %q, %v; want ErrSettlementRejected", txid, err)
			}
			if errors.Is(err, settlement.ErrOutcomeUnknown) {
				t.Fatalf("a rejection is definitive, not unknown: %v", err)
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got: %q\nwant: %q", err.Error(), tc.want)
			}
			if n := len(f.got()); n != 1 {
				t.Fatalf("a definitive rejection was retried: %d requests", n)
			}
		})
	}
}

func TestRelayerNetworkErrorIsUnknown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, err := settlement.NewRelayer(url, fastOpts(t)).Settle(context.Background(), testOrder("down-1"))
	assertUnknown(t, err)
}

func TestRelayerHonoursContextDuringBackoff(t *testing.T) {
	f, url := startRelayer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusServiceUnavailable, `{}`)
	})
	opts := fastOpts(t)
	opts.Backoff, opts.MaxBackoff = 10*time.Second, 10*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := settlement.NewRelayer(url, opts).Settle(ctx, testOrder("ctx-1"))
	assertUnknown(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want it to carry context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("took %v: the backoff ignored the context", elapsed)
	}
	if n := len(f.got()); n != 1 {
		t.Fatalf("relayer got %d requests, want 1", n)
	}
}

func TestRelayerHonoursRetryAfter(t *testing.T) {
	f, url := startRelayer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			reply(w, http.StatusTooManyRequests, `{"error":"slow down"}`)
			return
		}
		reply(w, http.StatusOK, `{"txid":"`+goodTxID+`"}`)
	})
	opts := fastOpts(t)
	opts.MaxBackoff = 300 * time.Millisecond // Retry-After is honoured up to this cap
	start := time.Now()
	txid, err := settlement.NewRelayer(url, opts).Settle(context.Background(), testOrder("ra-1"))
	if err != nil || txid != goodTxID {
		t.Fatalf("got %q, %v", txid, err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || elapsed > 900*time.Millisecond {
		t.Fatalf("waited %v, want the capped Retry-After (300ms)", elapsed)
	}
	assertSameKey(t, f.got(), "ra-1", 2)
}

// idempotentRelayer settles each key once and answers repeats with the first
// txid, as a correct relayer does. lose makes it drop the answer to the nth
// request after settling (the response is lost on the way back).
type idempotentRelayer struct {
	mu      sync.Mutex
	txids   map[string]string
	settled map[string]int
	seen    int
	lose    map[int]bool
}

func (f *idempotentRelayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	var body struct {
		UUID string `json:"uuid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || key == "" || body.UUID != key {
		reply(w, http.StatusBadRequest, `{"error":"bad request"}`)
		return
	}
	f.mu.Lock()
	f.seen++
	n := f.seen
	txid, ok := f.txids[key]
	if !ok {
		txid = fmt.Sprintf("0x%064x", len(f.txids)+1)
		f.txids[key] = txid
		f.settled[key]++
	}
	f.mu.Unlock()
	if f.lose[n] {
		reply(w, http.StatusBadGateway, `{"error":"upstream connection reset"}`)
		return
	}
	reply(w, http.StatusOK, `{"txid":"`+txid+`"}`)
}

func TestRelayerIdempotentFakeNeverSettlesTwice(t *testing.T) {
	fake := &idempotentRelayer{txids: map[string]string{}, settled: map[string]int{}, lose: map[int]bool{1: true}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := settlement.NewRelayer(srv.URL, fastOpts(t))
	o := testOrder("idem-1")

	// Request 1 settles but its answer is lost; request 2 (same key) gets the txid.
	first, err := r.Settle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Reconciliation asks again later: same key, same txid.
	again, err := r.Settle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if first != again || first != fmt.Sprintf("0x%064x", 1) {
		t.Fatalf("txids %s and %s, want both 0x…01", first, again)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.settled["idem-1"] != 1 || fake.seen != 3 {
		t.Fatalf("fake settled %d times over %d requests, want 1 over 3", fake.settled["idem-1"], fake.seen)
	}
}

func TestRelayerNeverLogsSignature(t *testing.T) {
	_, url := startRelayer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1: // a relayer that echoes the order back in its errors
			reply(w, http.StatusInternalServerError, `{"error":"cannot verify `+testSignature+`"}`)
		default:
			reply(w, http.StatusBadRequest, `{"message":"rejected signature 0x`+testSignature+`"}`)
		}
	})
	log, buf := newLogger()
	opts := fastOpts(t)
	opts.Logger = log
	o := testOrder("quiet-1")
	_, err := settlement.NewRelayer(url, opts).Settle(context.Background(), o)
	if !errors.Is(err, order.ErrSettlementRejected) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), o.Signature[:32]) {
		t.Fatalf("the order signature is in the returned error: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, `"uuid":"quiet-1"`) {
		t.Fatalf("failed attempts not logged with the uuid:\n%s", out)
	}
	if strings.Contains(out, o.Signature[:32]) {
		t.Fatalf("the order signature reached the log:\n%s", out)
	}
	if strings.Count(out, "[redacted]") != 2 {
		t.Fatalf("want both echoed signatures redacted in the log:\n%s", out)
	}
}
