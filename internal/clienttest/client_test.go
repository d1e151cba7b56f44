package clienttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// These tests run the SDK against a real in-process gateway (PostgreSQL +
// Redis, simulated settlement) over loopback HTTP.

var txidPattern = regexp.MustCompile(`^0x[0-9a-f]{64}$`)

func order1(uuid string) client.NewOrder {
	return client.NewOrder{UUID: uuid, InputToken: testgateway.SBTC, OutputToken: testgateway.WSTX,
		AmountIn: "1000000", TargetPrice: "0.30", Direction: "gt", ConditionToken: testgateway.SBTC}
}

// apiError asserts err is an *APIError with status and message.
func apiError(t *testing.T, err error, status int, message string) *client.APIError {
	t.Helper()
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T), want *client.APIError %d %q", err, err, status, message)
	}
	if apiErr.Status != status || apiErr.Message != message {
		t.Fatalf("APIError %d %q, want %d %q (details %v)", apiErr.Status, apiErr.Message, status, message, apiErr.Details)
	}
	if _, perr := time.Parse(time.RFC3339, apiErr.Timestamp); perr != nil {
		t.Fatalf("APIError.Timestamp %q: %v", apiErr.Timestamp, perr)
	}
	if apiErr.RequestID == "" {
		t.Fatal("APIError.RequestID is empty")
	}
	return apiErr
}

func TestKeyLifecycle(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	addr := k.Address(stacks.Mainnet).String()
	w := g.Wallet(t, k)

	created := testgateway.NewKey(t, w, "My Trading Bot", "create", "execute", "cancel")
	if !strings.HasPrefix(created.APIKey, "ck_live_") || created.KeyID == "" || created.ID != created.KeyID ||
		created.WalletAddress != addr || created.Name != "My Trading Bot" || created.Status != "active" ||
		created.RateLimit != 100 || created.RateLimits != (client.Limits{Minute: 100, Hour: 1000, Day: 10000}) ||
		!strings.HasPrefix(created.APIKey, created.Prefix) || created.LastUsedAt != nil {
		t.Fatalf("created key %+v", created)
	}

	keys, _, err := w.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].KeyID != created.KeyID || keys[0].Name != "My Trading Bot" {
		t.Fatalf("ListKeys %+v", keys)
	}
	got, _, err := w.GetKey(ctx, created.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyID != created.KeyID || fmt.Sprint(got.Permissions) != "[create execute cancel]" {
		t.Fatalf("GetKey %+v", got)
	}

	name := "renamed"
	updated, _, err := w.UpdateKey(ctx, created.KeyID, client.UpdateKeyRequest{Name: &name, Permissions: []client.Permission{"execute"}, IPAllowlist: &[]string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "renamed" || fmt.Sprint(updated.Permissions) != "[execute]" || strings.Join(updated.IPAllowlist, ",") != "127.0.0.0/8" {
		t.Fatalf("UpdateKey %+v", updated)
	}
	cleared, _, err := w.UpdateKey(ctx, created.KeyID, client.UpdateKeyRequest{IPAllowlist: &[]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cleared.IPAllowlist) != 0 || cleared.Name != "renamed" {
		t.Fatalf("clearing the allowlist: %+v", cleared)
	}

	bot := g.Client(t, client.WithAPIKey(created.APIKey))
	self, resp, err := bot.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if self.KeyID != created.KeyID || self.RateLimitState["minute"].Remaining != 99 || self.RateLimitState["hour"].Limit != 1000 ||
		self.RateLimitState["day"].Window != 86400 {
		t.Fatalf("Self %+v", self)
	}
	rl := resp.RateLimit
	if resp.Status != 200 || resp.RequestID == "" || rl.Limit != 100 || rl.Remaining != 99 || rl.Window != time.Minute || rl.Reset.Before(time.Now()) || rl.RetryIn != 0 {
		t.Fatalf("Self's response: %+v", resp)
	}
	if _, resp, err := bot.Self(ctx); err != nil || resp.RateLimit.Remaining != 98 {
		t.Fatalf("a second call: %+v %v", resp, err)
	}

	msg, _, err := w.RevokeKey(ctx, created.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if msg != "API key 'renamed' has been revoked" {
		t.Fatalf("RevokeKey message %q", msg)
	}
	_, _, err = bot.Self(ctx)
	apiError(t, err, 401, "API key inactive")
}

func TestOrdersWithKeyAndSignature(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	addr := k.Address(stacks.Mainnet).String()
	w := g.Wallet(t, k)
	key := testgateway.NewKey(t, w, "bot", "create", "execute", "cancel")
	bot := g.Wallet(t, k, client.WithAPIKey(key.APIKey)) // signs orders, acts with the key

	t.Run("CreateSignatureOnlyWithDefaults", func(t *testing.T) {
		o, _, err := w.CreateOrder(ctx, client.NewOrder{InputToken: testgateway.SBTC, OutputToken: testgateway.WSTX,
			AmountIn: "5", TargetPrice: "1.5", Direction: "lt", ConditionToken: testgateway.SBTC})
		if err != nil {
			t.Fatal(err)
		}
		lifetime := o.ValidTo.Sub(o.ValidFrom)
		if o.Owner != addr || o.Recipient != addr || o.Status != "open" || len(o.UUID) != 36 || lifetime != client.DefaultOrderLifetime {
			t.Fatalf("order %+v (lifetime %s)", o, lifetime)
		}
	})
	t.Run("DualAuthExecuteThenNotOpen", func(t *testing.T) {
		o, _, err := bot.CreateOrder(ctx, order1("sdk-exec"))
		if err != nil {
			t.Fatal(err)
		}
		ex, resp, err := bot.ExecuteOrder(ctx, o.UUID)
		if err != nil {
			t.Fatal(err)
		}
		txid := ex.TxID
		if !txidPattern.MatchString(txid) || ex.State != client.StatusFilled || ex.Settlement != client.SettlementSimulated || !ex.Simulated() {
			t.Fatalf("execution %+v", ex)
		}
		if rl := resp.RateLimit; rl.Limit != 100 || rl.Remaining != 98 {
			t.Fatalf("rate limit after create+execute: %+v", rl)
		}
		read, _, err := g.Client(t).GetOrder(ctx, o.UUID)
		if err != nil {
			t.Fatal(err)
		}
		if read.Status != "filled" || read.TxID == nil || *read.TxID != txid || read.Settlement == nil || *read.Settlement != "simulated" || read.FilledAt == nil {
			t.Fatalf("after execute: %+v", read)
		}
		_, _, err = bot.ExecuteOrder(ctx, o.UUID)
		e := apiError(t, err, 400, "Order not open")
		if e.Details["status"] != "filled" || e.Details["txid"] != txid || e.Temporary() {
			t.Fatalf("details %v", e.Details)
		}
		if g.Settlement.Settlements(o.UUID) != 1 {
			t.Fatalf("settled %d times", g.Settlement.Settlements(o.UUID))
		}
	})
	t.Run("WalletSignedExecuteAndCancel", func(t *testing.T) {
		if _, _, err := w.CreateOrder(ctx, order1("sdk-signed-exec")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.CreateOrder(ctx, order1("sdk-signed-cancel")); err != nil {
			t.Fatal(err)
		}
		if ex, _, err := w.ExecuteOrder(ctx, "sdk-signed-exec"); err != nil || !txidPattern.MatchString(ex.TxID) || ex.State != "filled" || ex.Settlement != "simulated" {
			t.Fatalf("signed execute: %+v %v", ex, err)
		}
		o, _, err := w.CancelOrder(ctx, "sdk-signed-cancel")
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != "cancelled" || o.CancelledAt == nil {
			t.Fatalf("cancelled %+v", o)
		}
	})
	t.Run("KeyedCancel", func(t *testing.T) {
		if _, _, err := bot.CreateOrder(ctx, order1("sdk-cancel")); err != nil {
			t.Fatal(err)
		}
		o, _, err := bot.CancelOrder(ctx, "sdk-cancel")
		if err != nil || o.Status != "cancelled" {
			t.Fatalf("cancel: %+v %v", o, err)
		}
	})
	t.Run("ListPagesAndAllOrders", func(t *testing.T) {
		pub := g.Client(t)
		page, _, err := pub.ListOrders(ctx, client.ListOrdersRequest{Owner: addr, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Orders) != 2 || page.NextCursor == "" {
			t.Fatalf("first page %+v", page)
		}
		var uuids []string
		for o, err := range pub.AllOrders(ctx, client.ListOrdersRequest{Owner: addr, Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			uuids = append(uuids, o.UUID)
		}
		if len(uuids) != 5 {
			t.Fatalf("AllOrders gave %d orders: %v", len(uuids), uuids)
		}
		filled, _, err := pub.ListOrders(ctx, client.ListOrdersRequest{Status: "filled"})
		if err != nil {
			t.Fatal(err)
		}
		if len(filled.Orders) != 2 || filled.NextCursor != "" {
			t.Fatalf("filled %+v", filled)
		}
	})
	t.Run("ExpiredOrder", func(t *testing.T) {
		n := order1("sdk-expiring")
		n.ValidTo = time.Now().Add(time.Hour)
		if _, _, err := bot.CreateOrder(ctx, n); err != nil {
			t.Fatal(err)
		}
		g.Clock.Advance(2 * time.Hour)
		defer g.Clock.Advance(-2 * time.Hour)
		_, _, err := bot.ExecuteOrder(ctx, "sdk-expiring")
		if e := apiError(t, err, 400, "Order not open"); e.Details["status"] != "expired" {
			t.Fatalf("details %v", e.Details)
		}
	})
}

// TestTypedErrors: every error class of the API arrives as an *APIError with
// its status, message, details and rate-limit state.
func TestTypedErrors(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	ka, kb := testgateway.Key(t, testgateway.PrivA), testgateway.Key(t, testgateway.PrivB)
	a, b := g.Wallet(t, ka), g.Wallet(t, kb)
	keyA := testgateway.NewKey(t, a, "a", "create", "execute")
	keyB := testgateway.NewKey(t, b, "b", "execute")
	if _, _, err := a.CreateOrder(ctx, order1("typed-1")); err != nil {
		t.Fatal(err)
	}
	botA := g.Client(t, client.WithAPIKey(keyA.APIKey))
	botB := g.Client(t, client.WithAPIKey(keyB.APIKey))

	t.Run("BadRequest400NamesTheField", func(t *testing.T) {
		_, _, err := a.CreateKey(ctx, client.CreateKeyRequest{Name: "x", Permissions: []client.Permission{"fly"}})
		if e := apiError(t, err, 400, `Unknown permission "fly" (allowed: create, execute, cancel, read)`); e.Details["field"] != "permissions" {
			t.Fatalf("details %v", e.Details)
		}
	})
	t.Run("InvalidKey401", func(t *testing.T) {
		_, _, err := g.Client(t, client.WithAPIKey("ck_live_nope")).Self(ctx)
		apiError(t, err, 401, "Invalid API key")
	})
	t.Run("StaleSignature401", func(t *testing.T) {
		stale := g.Wallet(t, ka, client.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
		_, _, err := stale.ListKeys(ctx)
		apiError(t, err, 401, "Message expired")
	})
	t.Run("OtherWalletsKey403", func(t *testing.T) {
		_, _, err := botB.ExecuteOrder(ctx, "typed-1")
		e := apiError(t, err, 403, "API key not authorized for this wallet")
		want := map[string]any{"apiKeyWallet": kb.Address(stacks.Mainnet).String(), "orderOwner": ka.Address(stacks.Mainnet).String(), "orderUuid": "typed-1"}
		if fmt.Sprint(e.Details) != fmt.Sprint(want) {
			t.Fatalf("details %v, want %v", e.Details, want)
		}
		if e.RateLimit.Limit != 100 || e.RateLimit.Remaining != 99 {
			t.Fatalf("rate limit of a refused keyed call: %+v", e.RateLimit)
		}
	})
	t.Run("MissingPermission403", func(t *testing.T) {
		_, _, err := botA.CancelOrder(ctx, "typed-1")
		if e := apiError(t, err, 403, "API key does not have the cancel permission"); e.Details["permission"] != "cancel" {
			t.Fatalf("details %v", e.Details)
		}
	})
	t.Run("OrderNotFound404", func(t *testing.T) {
		_, _, err := g.Client(t).GetOrder(ctx, "no-such-order")
		apiError(t, err, 404, "Order not found")
	})
	t.Run("KeyNotFound404", func(t *testing.T) {
		_, _, err := a.GetKey(ctx, keyB.KeyID)
		apiError(t, err, 404, "API key not found")
	})
	t.Run("NonASCIIKeyIDTravelsInHeaders404", func(t *testing.T) {
		_, _, err := a.GetKey(ctx, "clé-☃-𝄞")
		apiError(t, err, 404, "API key not found")
	})
	t.Run("DuplicateOrder409", func(t *testing.T) {
		_, _, err := a.CreateOrder(ctx, order1("typed-1"))
		if e := apiError(t, err, 409, "Duplicate order uuid"); e.Details["uuid"] != "typed-1" {
			t.Fatalf("details %v", e.Details)
		}
	})
	t.Run("SettlementFailed502", func(t *testing.T) {
		if _, _, err := a.CreateOrder(ctx, order1("typed-502")); err != nil {
			t.Fatal(err)
		}
		g.Settlement.FailNext(fmt.Errorf("%w: relayer said no", order.ErrSettlementRejected))
		_, _, err := botA.ExecuteOrder(ctx, "typed-502")
		e := apiError(t, err, 502, "Settlement failed: settlement rejected: relayer said no")
		if !e.Temporary() || e.Details["status"] != "open" {
			t.Fatalf("Temporary %v, details %v", e.Temporary(), e.Details)
		}
		if _, _, err := botA.ExecuteOrder(ctx, "typed-502"); err != nil {
			t.Fatalf("retry after a rejected settlement: %v", err)
		}
	})
	t.Run("SettlementUnknown502IsNotTemporary", func(t *testing.T) {
		if _, _, err := a.CreateOrder(ctx, order1("typed-unknown")); err != nil {
			t.Fatal(err)
		}
		g.Settlement.FailNext(errors.New("relayer timed out"))
		_, resp, err := botA.ExecuteOrder(ctx, "typed-unknown")
		e := apiError(t, err, 502, "Settlement outcome unknown: the order will be reconciled")
		if e.Code != client.CodeSettlementUnknown || e.Temporary() || e.Details["status"] != "executing" || resp == nil || *resp != e.Response {
			t.Fatalf("code %s, Temporary %v, details %v, response %+v", e.Code, e.Temporary(), e.Details, resp)
		}
		// Sending it again cannot settle twice: the order waits for reconciliation.
		_, _, err = botA.ExecuteOrder(ctx, "typed-unknown")
		if e := apiError(t, err, 400, "Order not open"); e.Code != client.CodeOrderNotOpen || e.Details["status"] != "executing" {
			t.Fatalf("execute again: %s %v", e.Code, e.Details)
		}
	})
	t.Run("LocalErrors", func(t *testing.T) {
		if _, _, err := g.Client(t).Self(ctx); !errors.Is(err, client.ErrNoAPIKey) {
			t.Fatalf("Self without a key: %v", err)
		}
		if _, _, err := g.Client(t).ListKeys(ctx); !errors.Is(err, client.ErrNoSigner) {
			t.Fatalf("ListKeys without a signer: %v", err)
		}
		if _, _, err := g.Client(t).CreateOrder(ctx, order1("x")); !errors.Is(err, client.ErrNoSigner) {
			t.Fatalf("CreateOrder without a signer: %v", err)
		}
		if _, _, err := g.Client(t).ExecuteOrder(ctx, "typed-1"); err == nil || !strings.Contains(err.Error(), "needs an API key") {
			t.Fatalf("ExecuteOrder without credentials: %v", err)
		}
		if _, _, err := a.CreateOrder(ctx, client.NewOrder{UUID: "x", InputToken: "not a principal", AmountIn: "1"}); err == nil || !strings.Contains(err.Error(), "input-token") {
			t.Fatalf("CreateOrder with a bad token: %v", err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := botA.Self(cctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrUnreachable) {
			t.Fatalf("canceled call: %v", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		target, err := url.Parse(g.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
		c := testgateway.NewClient(t, proxy.URL)
		proxy.Close() // the gateway is gone after New
		o, resp, err := c.GetOrder(ctx, "x")
		var apiErr *client.APIError
		if o != nil || resp != nil || !errors.Is(err, client.ErrUnreachable) || errors.As(err, &apiErr) {
			t.Fatalf("unreachable gateway: %v %v %v", o, resp, err)
		}
	})
}

// TestRateLimitedAndRetry: 429 carries the limiter's state; WithRetryOn429
// retries the refused call as many times as allowed.
func TestRateLimitedAndRetry(t *testing.T) {
	g := testgateway.Start(t, testgateway.Limits(2, 1000, 10000))
	ctx := context.Background()
	w := g.Wallet(t, testgateway.Key(t, testgateway.PrivA))
	key := testgateway.NewKey(t, w, "slow", "execute")
	var sent atomic.Int32
	counting := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	bot := g.Client(t, client.WithAPIKey(key.APIKey), client.WithHTTPClient(counting), client.WithRetryOn429(2, 10*time.Millisecond))
	for range 2 {
		if _, _, err := bot.Self(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sent.Store(0)
	_, resp, err := bot.Self(ctx)
	e := apiError(t, err, 429, "Rate limit exceeded")
	if e.Code != client.CodeRateLimited || e.RateLimit.Limit != 2 || e.RateLimit.Remaining != 0 || e.RateLimit.RetryIn < time.Second || e.RateLimit.Window != time.Minute ||
		e.Details["window"] != "minute" || !e.Temporary() {
		t.Fatalf("429: rate limit %+v, details %v", e.RateLimit, e.Details)
	}
	if n := sent.Load(); n != 3 {
		t.Fatalf("sent %d requests, want 1 + 2 retries", n)
	}
	if resp == nil || resp.RateLimit != e.RateLimit || resp.Status != 429 {
		t.Fatalf("the 429's response %+v, want the APIError's %+v", resp, e.Response)
	}
}

// TestRateLimitPerCall: one Client shared by racing goroutines, each call's
// rate-limit state is that call's own. 2n calls race on a key allowed n a
// minute: the n answered calls see Remaining n-1 … 0 once each, equal to the
// window state the gateway wrote into the same answer's body; the n refused
// ones each carry their own 429 state in the APIError and the Response.
func TestRateLimitPerCall(t *testing.T) {
	const n = 25
	g := testgateway.Start(t, testgateway.Limits(n, 1000, 10000))
	ctx := context.Background()
	w := g.Wallet(t, testgateway.Key(t, testgateway.PrivA))
	key := testgateway.NewKey(t, w, "racing", client.PermissionExecute)
	bot := g.Client(t, client.WithAPIKey(key.APIKey))
	type result struct {
		resp *client.Response
		self *client.SelfKey
		err  error
	}
	results := make([]result, 2*n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			<-start
			self, resp, err := bot.Self(ctx)
			results[i] = result{resp, self, err}
		})
	}
	close(start)
	wg.Wait()
	var remaining []int
	refused := 0
	for _, r := range results {
		if r.resp == nil || r.resp.RateLimit.Limit != n || r.resp.RateLimit.Window != time.Minute || r.resp.RequestID == "" {
			t.Fatalf("response %+v (%v)", r.resp, r.err)
		}
		if r.err != nil {
			e := apiError(t, r.err, 429, "Rate limit exceeded")
			if e.Code != client.CodeRateLimited || e.Response != *r.resp || e.RateLimit.Remaining != 0 || e.RateLimit.RetryIn < time.Second {
				t.Fatalf("refused call: %+v, response %+v", e, r.resp)
			}
			refused++
			continue
		}
		if body := r.self.RateLimitState["minute"]; body.Remaining != r.resp.RateLimit.Remaining || body.Limit != n || r.resp.Status != 200 {
			t.Fatalf("the answer's body says %+v, its headers %+v", body, r.resp.RateLimit)
		}
		remaining = append(remaining, r.resp.RateLimit.Remaining)
	}
	slices.Sort(remaining)
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if refused != n || !slices.Equal(remaining, want) {
		t.Fatalf("%d refused, remaining seen %v; want %d refused and %v", refused, remaining, n, want)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSigners: a KMS-style HashSigner and a message-only signer work where
// they should, and a key signed for testnet works on a testnet gateway.
func TestSigners(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)

	var digests atomic.Int32
	kms, err := client.NewHashSigner(k.PublicKey(), func(_ context.Context, digest [32]byte) (string, error) {
		digests.Add(1) // the private key never leaves this function: an HSM would sign here
		sig, err := stacks.SignHash(k, digest)
		return sig.String(), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if kms.Address(stacks.Mainnet) != k.Address(stacks.Mainnet).String() {
		t.Fatalf("HashSigner address %s", kms.Address(stacks.Mainnet))
	}
	c := g.Client(t, client.WithSigner(kms))
	key := testgateway.NewKey(t, c, "kms", "create")
	so, err := c.SignOrder(ctx, order1("kms-1"))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := client.OrderHash(orderOf(so), c.Domain())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stacks.VerifyHash(digest, so.Signature, k.Address(stacks.Mainnet)); err != nil {
		t.Fatalf("SignOrder signature does not verify against OrderHash: %v", err)
	}
	submitter := g.Client(t, client.WithAPIKey(key.APIKey)) // holds no wallet at all
	if _, _, err := submitter.SubmitOrder(ctx, *so); err != nil {
		t.Fatal(err)
	}
	if digests.Load() != 2 {
		t.Fatalf("the KMS signed %d digests, want 2", digests.Load())
	}

	msgOnly := g.Client(t, client.WithMessageSigner(messageOnly{k}))
	if keys, _, err := msgOnly.ListKeys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("message-only signer lists keys: %v %v", keys, err)
	}
	if _, _, err := msgOnly.CreateOrder(ctx, order1("x")); !errors.Is(err, client.ErrNoOrderSigner) {
		t.Fatalf("message-only signer creating an order: %v", err)
	}
	if _, err := client.NewHashSigner([]byte{1, 2, 3}, nil); err == nil {
		t.Fatal("NewHashSigner accepted a malformed public key")
	}

	env, err := client.SignEnvelope(ctx, kms, stacks.Mainnet, "list_api_keys", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if env.PublicKey == "" || env.WalletAddress != k.Address(stacks.Mainnet).String() {
		t.Fatalf("envelope %+v", env)
	}
	if _, err := stacks.VerifyMessage([]byte(env.Message), env.Signature, k.Address(stacks.Mainnet)); err != nil {
		t.Fatalf("SignEnvelope signature: %v", err)
	}
}

type messageOnly struct{ k *stacks.PrivateKey }

func (m messageOnly) Address(n stacks.Network) string { return m.k.Address(n).String() }
func (m messageOnly) SignMessage(_ context.Context, msg []byte) (string, error) {
	return stacks.SignMessage(m.k, msg)
}

func TestTestnetGateway(t *testing.T) {
	g := testgateway.Start(t, func(c *config.Config) { c.Network = stacks.Testnet })
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	w := g.Wallet(t, k, client.WithNetwork(stacks.Testnet))
	key := testgateway.NewKey(t, w, "testnet", "create", "execute")
	if !strings.HasPrefix(key.APIKey, "ck_test_") || !strings.HasPrefix(key.WalletAddress, "ST") {
		t.Fatalf("testnet key %+v", key)
	}
	n := order1("testnet-1")
	n.InputToken, n.OutputToken, n.ConditionToken = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-a", "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-b", "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-a"
	o, _, err := g.Wallet(t, k, client.WithNetwork(stacks.Testnet), client.WithAPIKey(key.APIKey)).CreateOrder(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if o.Owner != key.WalletAddress {
		t.Fatalf("owner %s", o.Owner)
	}
	// An order signed offline for mainnet is refused by a testnet gateway.
	so, err := client.SignOrder(ctx, client.PrivateKeySigner{Key: k}, stacks.Mainnet, stacks.NewDomain("stxgate", "1", stacks.Mainnet), order1("mainnet-on-testnet"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.Client(t).SubmitOrder(ctx, *so)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("mainnet order on testnet: %v", err)
	}
}

func TestHealthReadyAndOpenAPI(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	c := g.Client(t)
	if _, err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	r, _, err := c.Ready(ctx)
	if err != nil || r.Status != "ready" || r.Checks["postgres"] != "ok" || r.Checks["redis"] != "ok" {
		t.Fatalf("Ready %+v %v", r, err)
	}
	doc, _, err := c.OpenAPI(ctx)
	if err != nil || !strings.HasPrefix(string(doc), "openapi: 3.1.0") {
		t.Fatalf("OpenAPI: %.40q %v", doc, err)
	}
	if err := g.App.Redis().Close(); err != nil {
		t.Fatal(err)
	}
	r, _, err = c.Ready(ctx)
	e := apiError503(t, err)
	if r == nil || r.Status != "unavailable" || r.Checks["redis"] != "unreachable" || e.Message != "Service unavailable: redis unreachable" {
		t.Fatalf("Ready with Redis down: %+v %v", r, err)
	}
}

func apiError503(t *testing.T, err error) *client.APIError {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("want a 503 APIError, got %v", err)
	}
	return e
}

// orderOf turns a signed body back into the signed tuple's fields.
func orderOf(so *client.SignedOrder) ordersig.Order {
	from, _ := time.Parse(time.RFC3339, so.ValidFrom)
	to, _ := time.Parse(time.RFC3339, so.ValidTo)
	return ordersig.Order{Owner: so.Owner, InputToken: so.InputToken, OutputToken: so.OutputToken, AmountIn: so.AmountIn,
		TargetPrice: so.TargetPrice, Direction: string(so.Direction), ConditionToken: so.ConditionToken, Recipient: so.Recipient,
		UUID: so.UUID, ValidFrom: from.Unix(), ValidTo: to.Unix()}
}

// TestNewTakesTheGatewaysSettings: client.New reads /api/v1/info, so with
// no other setup its signed messages carry the gateway's network and message
// domain (issue 13 items 1 and 2) and its orders the gateway's SIP-018
// domain; a client set to the other network is refused by New, before any
// wallet is asked to sign.
func TestNewTakesTheGatewaysSettings(t *testing.T) {
	g := testgateway.Start(t, func(c *config.Config) {
		c.Network, c.Domain, c.SIP018Name, c.SIP018Version = stacks.Testnet, "bots.example", "stxgate-test", "2"
	})
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	signer := &recordingSigner{PrivateKeySigner: client.PrivateKeySigner{Key: k}}
	c := g.Client(t, client.WithSigner(signer))
	if c.Network() != stacks.Testnet || c.Domain() != (stacks.Domain{Name: "stxgate-test", Version: "2", ChainID: 2147483648}) {
		t.Fatalf("client network %s, domain %+v", c.Network(), c.Domain())
	}
	info := c.GatewayInfo()
	if info.Network != "testnet" || info.MessageDomain == nil || *info.MessageDomain != "bots.example" || info.SignatureWindowSeconds != 300 ||
		info.Settlement != client.SettlementSimulated || !slices.Contains(info.Permissions, client.PermissionExecute) {
		t.Fatalf("info %+v", info)
	}
	key := testgateway.NewKey(t, c, "bound", client.PermissionCreate)
	if key.WalletAddress != k.Address(stacks.Testnet).String() || !strings.HasPrefix(key.APIKey, "ck_test_") {
		t.Fatalf("key %+v", key)
	}
	if _, _, err := c.ListKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for _, raw := range signer.messages() {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil || m["network"] != "testnet" || m["domain"] != "bots.example" {
			t.Fatalf("signed message %s lacks the gateway's network and domain", raw)
		}
	}
	n := order1("info-1")
	n.InputToken, n.OutputToken, n.ConditionToken = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-a", "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-b", "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.token-a"
	o, _, err := g.Client(t, client.WithSigner(signer), client.WithAPIKey(key.APIKey)).CreateOrder(ctx, n)
	if err != nil {
		t.Fatalf("order signed under the gateway's SIP-018 domain: %v", err)
	}
	if o.Owner != key.WalletAddress || o.Status != client.StatusOpen || o.Direction != client.DirectionGT {
		t.Fatalf("order %+v", o)
	}

	before := len(signer.messages())
	_, err = client.New(ctx, g.URL, client.WithSigner(signer), client.WithNetwork(stacks.Mainnet))
	if want := "stxgate: the gateway at " + g.URL + " runs on testnet, this client is for mainnet (WithNetwork)"; err == nil || err.Error() != want {
		t.Fatalf("mainnet client of a testnet gateway: %v, want %q", err, want)
	}
	if len(signer.messages()) != before {
		t.Fatal("the wallet was asked to sign for the wrong network")
	}
}

// TestNewChecksItsInput: a bare host:port works; an unreachable gateway, a
// signer without a key and a password in the URL fail in New, and the
// password never shows in an error.
func TestNewChecksItsInput(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	hostPort := strings.TrimPrefix(g.URL, "http://")
	c, err := client.New(ctx, hostPort)
	if err != nil {
		t.Fatalf("New(%q): %v", hostPort, err)
	}
	if _, resp, err := c.GetOrder(ctx, "none"); resp == nil || resp.Status != 404 || err == nil {
		t.Fatalf("a host:port client's call: %+v %v", resp, err)
	}
	if _, err := client.New(ctx, g.URL, client.WithSigner(client.PrivateKeySigner{})); err == nil ||
		!strings.Contains(err.Error(), "the signer has no valid mainnet address") {
		t.Fatalf("a signer without a key: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = client.New(ctx, "http://bot:s3cret@"+closed)
	want := "stxgate: GET http://bot:xxxxx@" + closed + "/api/v1/info: gateway unreachable: dial tcp " + closed + ": connect: connection refused"
	if !errors.Is(err, client.ErrUnreachable) || err.Error() != want {
		t.Fatalf("unreachable gateway: %v, want %q", err, want)
	}
	// A gateway behind basic auth gets the URL's credentials; a refusal shows none.
	withAuth := strings.Replace(g.URL, "http://", "http://bot:s3cret@", 1)
	authed, err := client.New(ctx, withAuth)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := authed.GetOrder(ctx, "none"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error of a call through a URL with a password: %v", err)
	}
	for _, bad := range []string{"ftp://bot:s3cret@host", "http://bot:s3cret@[::1", ""} {
		if _, err := client.New(ctx, bad); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("New(%q): %v", bad, err)
		}
	}
}

// recordingSigner remembers what it signed.
type recordingSigner struct {
	client.PrivateKeySigner
	mu   sync.Mutex
	msgs []string
}

func (r *recordingSigner) SignMessage(ctx context.Context, msg []byte) (string, error) {
	r.mu.Lock()
	r.msgs = append(r.msgs, string(msg))
	r.mu.Unlock()
	return r.PrivateKeySigner.SignMessage(ctx, msg)
}

func (r *recordingSigner) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// client.Order (the wire Terms embedded) has a field for everything the
// gateway's order view carries, and reads the same as the gateway wrote it.
func TestOrderDecodesTheGatewaysView(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	w := g.Wallet(t, testgateway.Key(t, testgateway.PrivA))
	created, _, err := w.CreateOrder(ctx, order1("view-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(g.URL + "/api/v1/orders/view-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(body.Data)))
	dec.DisallowUnknownFields()
	var got client.Order
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", body.Data, err)
	}
	want := client.Terms{Owner: testgateway.Key(t, testgateway.PrivA).Address(stacks.Mainnet).String(), InputToken: testgateway.SBTC,
		OutputToken: testgateway.WSTX, AmountIn: "1000000", TargetPrice: "0.30", Direction: client.DirectionGT,
		ConditionToken: testgateway.SBTC, Recipient: created.Owner}
	if got.UUID != "view-1" || got.Terms != want || got.Status != client.StatusOpen || !got.ValidTo.Equal(created.ValidTo) {
		t.Fatalf("decoded %+v\nwant terms %+v", got, want)
	}
}
