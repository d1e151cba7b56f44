package stacks_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Keys of these tests: the owner's wallet signs orders (SIP-018, testnet)
// and key requests; the executor key signs the gateway's transactions.
const (
	ownerKey    = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"
	executorKey = "e494f188c2d35887531ba474c433b1e41fadd8eb824aca983447fd4bb8b277a801"
	recipKey    = "edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01"

	poolA, poolB, deposit, executorFunds = 50_000_000_000, 20_000_000_000, 5_000_000, 10_000_000
)

type chain struct {
	t                                  *testing.T
	node                               *testnode.Node
	market                             *testnode.Market
	gw                                 *app.App
	base                               string // a gateway process's URL; "" for gw in process
	owner                              *stacks.PrivateKey
	ownerAddr, executorAddr, recipAddr string
	settlement, tokenA, tokenB         string
	apiKey                             string
	db                                 string        // the gateways' database (gatewayEnv)
	validity                           time.Duration // of the orders createOrder makes; 0: an hour
}

// validFor is how long createOrder's orders are valid. The test node's
// chain clock runs ahead of the wall clock by 10 s a transaction, so tests
// that mine hundreds give their orders longer.
func (c *chain) validFor() time.Duration {
	if c.validity == 0 {
		return time.Hour
	}
	return c.validity
}

func mustKey(t *testing.T, h string) *stacks.PrivateKey {
	k, err := stacks.ParsePrivateKey(h)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pv(t *testing.T, s string) stacks.Value {
	p, err := stacks.ParsePrincipal(s)
	if err != nil {
		t.Fatal(err)
	}
	return stacks.PrincipalValue(p)
}

// setUp starts the test node (mining only when told), gives it a pool, the
// owner's deposit and an authorised, funded executor, and starts a gateway
// with stacks settlement on a fresh PostgreSQL database and Redis prefix.
// The gateway's own tracker and gap filler are slowed to an hour so the test
// drives them (Orders.Track, Executor.FillGaps) at the moments it chooses.
//
// These tests run in parallel: each has its own node, database and Redis
// prefix, and most of their time is waiting for the node to start.
func setUp(t *testing.T, env map[string]string) *chain {
	t.Parallel()
	c := startChain(t, testnode.Options{BlockInterval: -1})
	c.authorise(executorKey, executorFunds)
	c.startGateway(executorKey, env)
	return c
}

// startGateway starts the in-process gateway on the chain with the
// executor key file content keys and env over setUp's settings.
func (c *chain) startGateway(keys string, env map[string]string) {
	t := c.t
	vars := c.gatewayEnv(keys)
	vars["STXGATE_STACKS_POLL_INTERVAL"], vars["STXGATE_MAINTENANCE_INTERVAL"] = "1h", "1h"
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(testLog{t}, nil)), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	c.gw = gw
	c.apiKey = c.createKey()
}

// startChain starts the test node and gives it a pool and the owner's deposit.
func startChain(t *testing.T, opts testnode.Options) *chain {
	n := testnode.Start(t, opts)
	m := testnode.OpenMarket(n, poolA, poolB)
	c := &chain{t: t, node: n, market: m, owner: mustKey(t, ownerKey),
		settlement: m.Settlement, tokenA: m.TokenA, tokenB: m.TokenB}
	c.ownerAddr = c.owner.Address(stacks.Testnet).String()
	c.recipAddr = mustKey(t, recipKey).Address(stacks.Testnet).String()
	m.Deposit(c.ownerAddr, deposit)
	return c
}

// authorise makes the account of keyHex an executor of the settlement
// contract with microSTX for fees, and the chain's executor.
func (c *chain) authorise(keyHex string, microSTX uint64) {
	c.executorAddr = mustKey(c.t, keyHex).Address(stacks.Testnet).String()
	c.market.Authorise(c.executorAddr, microSTX)
}

// gatewayEnv is the environment of a gateway settling on the chain's node
// with the executor key keyHex, on a fresh PostgreSQL database and Redis prefix.
func (c *chain) gatewayEnv(keyHex string) map[string]string {
	keyFile := filepath.Join(c.t.TempDir(), "executor.key")
	if err := os.WriteFile(keyFile, []byte(keyHex+"\n"), 0o600); err != nil {
		c.t.Fatal(err)
	}
	_, prefix := testenv.Redis(c.t)
	c.db = testenv.PostgresDSN(c.t)
	env := c.market.GatewayEnv(keyFile)
	env["DATABASE_URL"], env["REDIS_URL"], env["STXGATE_REDIS_PREFIX"] = c.db, testenv.RedisURL(c.t), prefix
	return env
}

type answer struct {
	status int
	body   string
}

// orderEvents follows GET /api/v1/orders/events?owner= of the in-process
// gateway over a real HTTP connection, as "type uuid status txid" per event
// with strictly increasing ids. The stream is subscribed once it answers,
// so every later change is on it.
func (c *chain) orderEvents(owner string) <-chan string {
	c.t.Helper()
	srv := httptest.NewServer(c.gw.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(func() { cancel(); srv.Close() })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/orders/events?owner="+owner, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		c.t.Fatalf("order events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var id, last int64
		var typ string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseInt(line[len("id: "):], 10, 64)
			case strings.HasPrefix(line, "event: "):
				typ = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				var o struct {
					UUID, Status string
					TxID         *string
				}
				if err := json.Unmarshal([]byte(line[len("data: "):]), &o); err != nil || id <= last {
					out <- fmt.Sprintf("bad event %d after %d: %s (%v)", id, last, line, err)
					return
				}
				txid := "-"
				if o.TxID != nil {
					txid = *o.TxID
				}
				last = id
				out <- typ + " " + o.UUID + " " + o.Status + " " + txid
			}
		}
	}()
	return out
}

func (c *chain) do(method, path, body string, headers map[string]string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if c.base != "" {
		var err error
		if req, err = http.NewRequest(method, c.base+path, rd); err != nil {
			c.t.Fatal(err)
		}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c.base != "" {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{0, err.Error()} // the gateway is gone (killed)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	rec := httptest.NewRecorder()
	c.gw.Handler().ServeHTTP(rec, req)
	return answer{rec.Code, strings.TrimSpace(rec.Body.String())}
}

// sign signs a wallet message with the owner's key.
func (c *chain) sign(msg string) string {
	sig, err := stacks.SignMessage(c.owner, []byte(msg))
	if err != nil {
		c.t.Fatal(err)
	}
	return sig
}

// createKey makes an API key of the owner's wallet that may create and execute.
func (c *chain) createKey() string {
	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"bot","permissions":["create","execute"],"network":"testnet","timestamp":%d}`, time.Now().UnixMilli())
	body, _ := json.Marshal(map[string]string{"message": msg, "signature": c.sign(msg), "walletAddress": c.ownerAddr})
	r := c.do("POST", "/api/v1/api-keys", string(body), nil)
	if r.status != http.StatusCreated {
		c.t.Fatalf("create key: %d %s", r.status, r.body)
	}
	var out struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		c.t.Fatal(err)
	}
	return out.APIKey
}

// createOrder has the owner's wallet sign an order (SIP-018 under the
// gateway's testnet domain) and creates it with the API key.
func (c *chain) createOrder(uuid string, amountIn uint64) {
	c.t.Helper()
	now := time.Now().Truncate(time.Second)
	o := ordersig.Order{Owner: c.ownerAddr, InputToken: c.tokenA, OutputToken: c.tokenB, AmountIn: strconv.FormatUint(amountIn, 10),
		TargetPrice: "0.30", Direction: "gt", ConditionToken: c.tokenA, Recipient: c.recipAddr, UUID: uuid,
		ValidFrom: now.Add(-time.Minute).Unix(), ValidTo: now.Add(c.validFor()).Unix()}
	sig, err := ordersig.Sign(c.owner, o, stacks.NewDomain("stxgate", "1", stacks.Testnet))
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"owner": o.Owner, "inputToken": o.InputToken, "outputToken": o.OutputToken,
		"amountIn": o.AmountIn, "targetPrice": o.TargetPrice, "direction": o.Direction, "conditionToken": o.ConditionToken,
		"recipient": o.Recipient, "uuid": uuid, "signature": sig,
		"validFrom": time.Unix(o.ValidFrom, 0).UTC().Format(time.RFC3339), "validTo": time.Unix(o.ValidTo, 0).UTC().Format(time.RFC3339)})
	if r := c.do("POST", "/api/v1/orders/new", string(body), map[string]string{"X-API-Key": c.apiKey}); r.status != http.StatusCreated {
		c.t.Fatalf("create order: %d %s", r.status, r.body)
	}
}

// execute executes the order with the API key and returns the answer.
func (c *chain) execute(uuid string) answer {
	c.t.Helper()
	return c.do("POST", "/api/v1/orders/"+uuid+"/execute", "", map[string]string{"X-API-Key": c.apiKey})
}

// submitted executes the order and returns the txid of its submission.
func (c *chain) submitted(uuid string) string {
	c.t.Helper()
	r := c.execute(uuid)
	var out map[string]string
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &out) != nil {
		c.t.Fatalf("execute %s: %d %s", uuid, r.status, r.body)
	}
	want := fmt.Sprintf(`{"status":"success","txid":%q,"state":"submitted","settlement":"stacks"}`, out["txid"])
	if r.body != want {
		c.t.Fatalf("execute %s: %s\nwant %s", uuid, r.body, want)
	}
	return out["txid"]
}

type orderView struct {
	Status      string  `json:"status"`
	TxID        *string `json:"txid"`
	Settlement  *string `json:"settlement"`
	BlockHeight *int64  `json:"blockHeight"`
	LastError   *string `json:"lastError"`
	SubmittedAt *string `json:"submittedAt"`
	FilledAt    *string `json:"filledAt"`
}

func (c *chain) order(uuid string) orderView {
	c.t.Helper()
	r := c.do("GET", "/api/v1/orders/"+uuid, "", nil)
	var out struct {
		Data orderView `json:"data"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &out) != nil {
		c.t.Fatalf("get order %s: %d %s", uuid, r.status, r.body)
	}
	return out.Data
}

// track runs the gateway's tracker once and returns what it recorded.
func (c *chain) track() (filled, reopened int) {
	c.t.Helper()
	f, r, err := c.gw.Orders.Track(context.Background(), 100)
	if err != nil {
		c.t.Fatal(err)
	}
	return f, r
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// quote is the pool's constant-product payout with its 0.3 % fee.
func quote(in, reserveIn, reserveOut uint64) uint64 {
	withFee := new(big.Int).Mul(new(big.Int).SetUint64(in), big.NewInt(9970))
	num := new(big.Int).Mul(withFee, new(big.Int).SetUint64(reserveOut))
	den := new(big.Int).Add(new(big.Int).Mul(new(big.Int).SetUint64(reserveIn), big.NewInt(10000)), withFee)
	return new(big.Int).Div(num, den).Uint64()
}

// depositOf reads the contract's get-balance (an owner's deposit) and
// returns it as Clarity.
func (c *chain) depositOf(owner, token string) string {
	c.t.Helper()
	return c.node.ReadOnly(c.settlement, "get-balance", owner, pv(c.t, owner), pv(c.t, token))
}

// The first "Done when": a wallet signs an order → created with a
// key → executed by the key → the gateway's transaction is accepted by the
// node, the contract verifies the owner's signature on chain and moves the
// tokens → the order is filled with that txid and block height.
func TestOrderSettlesOnChainEndToEnd(t *testing.T) {
	c := setUp(t, nil)
	n := c.node
	events := c.orderEvents(c.ownerAddr)
	c.createOrder("e2e-1", 1_000_000)

	txid := c.submitted("e2e-1")
	tx, ok := n.TxStatus(txid)
	if !ok || tx.Status != "pending" || tx.Sender != c.executorAddr || tx.Nonce != 0 {
		t.Fatalf("the node's record of the gateway's transaction: %+v (found %t)", tx, ok)
	}
	fee, _ := strconv.ParseUint(tx.FeeRate, 10, 64)
	if fee < 1000 || fee > 1_000_000 {
		t.Fatalf("fee %d µSTX outside the default floor 1000 and cap 1000000", fee)
	}
	if o := c.order("e2e-1"); o.Status != "submitted" || str(o.TxID) != txid || str(o.Settlement) != "stacks" || o.BlockHeight != nil || o.SubmittedAt == nil || o.FilledAt != nil {
		t.Fatalf("order after execute: %+v", o)
	}
	// Not mined yet: the tracker records nothing.
	if f, r := c.track(); f != 0 || r != 0 {
		t.Fatalf("tracker before the block: %d filled, %d reopened", f, r)
	}

	if _, mined := n.Mine(1); mined != 1 {
		t.Fatalf("mined %d transactions, want 1", mined)
	}
	tx, _ = n.TxStatus(txid)
	out := quote(1_000_000, poolA, poolB)
	if tx.Status != "success" || tx.TxResult.Repr != fmt.Sprintf("(ok (tuple (amount-in u1000000) (amount-out u%d)))", out) || tx.BlockHeight <= 0 {
		t.Fatalf("mined transaction: %+v", tx)
	}
	if f, r := c.track(); f != 1 || r != 0 {
		t.Fatalf("tracker after the block: %d filled, %d reopened; want 1, 0", f, r)
	}
	o := c.order("e2e-1")
	if o.Status != "filled" || str(o.TxID) != txid || o.BlockHeight == nil || *o.BlockHeight != int64(tx.BlockHeight) || o.FilledAt == nil || o.LastError != nil {
		t.Fatalf("order after the block: %+v, want filled with %s at height %d", o, txid, tx.BlockHeight)
	}

	// A bot following the owner's orders saw each step once, in order, with
	// the order as it stood after it (issue 18).
	var seen []string
	for len(seen) < 4 {
		select {
		case ev := <-events:
			seen = append(seen, ev)
		case <-time.After(10 * time.Second):
			t.Fatalf("order events after 10 s: %q", seen)
		}
	}
	wantEvents := []string{"order.created e2e-1 open -", "order.executing e2e-1 executing -",
		"order.submitted e2e-1 submitted " + txid, "order.filled e2e-1 filled " + txid}
	if strings.Join(seen, "\n") != strings.Join(wantEvents, "\n") {
		t.Fatalf("order events:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(wantEvents, "\n"))
	}
	select {
	case ev := <-events:
		t.Fatalf("an event after the fill: %s", ev)
	default:
	}

	// Balances, exactly: the recipient got the payout, the owner's deposit
	// lost amount-in, the pool moved by both, the executor paid the fee.
	if got := n.Balances(c.recipAddr)[c.tokenB+"::token"]; got != strconv.FormatUint(out, 10) {
		t.Fatalf("recipient holds %s of token-b, want %d", got, out)
	}
	if got := c.depositOf(c.ownerAddr, c.tokenA); got != fmt.Sprintf("u%d", deposit-1_000_000) {
		t.Fatalf("owner's deposit %s, want u%d", got, deposit-1_000_000)
	}
	bal := n.Balances(c.settlement)
	if bal[c.tokenA+"::token"] != strconv.FormatUint(poolA+deposit, 10) || bal[c.tokenB+"::token"] != strconv.FormatUint(poolB-out, 10) {
		t.Fatalf("contract holds %v, want token-a %d and token-b %d", bal, poolA+deposit, poolB-out)
	}
	if got := n.Balances(c.executorAddr)["STX"]; got != strconv.FormatUint(executorFunds-fee, 10) {
		t.Fatalf("executor holds %s µSTX, want %d - fee %d", got, executorFunds, fee)
	}
	// /metrics: one accepted broadcast, one confirmation paying fee, nothing
	// pending, no gap, replacement or refusal.
	rec := httptest.NewRecorder()
	c.gw.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	l := fmt.Sprintf(`{executor=%q}`, c.executorAddr)
	for _, line := range []string{
		"stxgate_stacks_broadcast_seconds_count" + l + " 1",
		"stxgate_stacks_confirm_seconds_count" + l + " 1",
		"stxgate_stacks_fees_paid_microstx_total" + l + " " + strconv.FormatUint(fee, 10),
		"stxgate_stacks_unconfirmed_transactions" + l + " 0",
		"stxgate_stacks_nonce_gaps_filled_total" + l + " 0",
		"stxgate_stacks_replacements_total" + l + " 0",
		"stxgate_stacks_rejected_total" + l + " 0",
		"stxgate_stacks_broadcast_errors_total" + l + " 0",
	} {
		if !strings.Contains(rec.Body.String(), "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	// The audit trail has each step, written with its change: the broadcast
	// as the key's execution, then the fill the chain gave it.
	msg := fmt.Sprintf(`{"action":"list_audit","network":"testnet","timestamp":%d}`, time.Now().UnixMilli())
	r := c.do("GET", "/api/v1/audit", "", map[string]string{"X-Message": msg,
		"X-Signature": c.sign(msg), "X-Wallet-Address": c.ownerAddr})
	var trail struct {
		Events []struct {
			Event, OrderUUID, Actor string
			Details                 map[string]any
		} `json:"events"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &trail) != nil {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	var got []string
	for i := len(trail.Events) - 1; i >= 0; i-- {
		e := trail.Events[i]
		if e.OrderUUID == "e2e-1" {
			d, _ := json.Marshal(e.Details)
			got = append(got, e.Event+" "+string(d))
		}
	}
	want := []string{`order.created {"amountIn":"1000000","direction":"gt","inputToken":"` + c.tokenA + `","outputToken":"` + c.tokenB + `","targetPrice":"0.30"}`,
		fmt.Sprintf(`order.executed {"settlement":"stacks","state":"submitted","txid":%q}`, txid),
		fmt.Sprintf(`order.filled {"blockHeight":%d,"txid":%q}`, tx.BlockHeight, txid)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit trail of the order:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Executed again: the order is filled, nothing is broadcast.
	if r := c.execute("e2e-1"); r.status != http.StatusBadRequest || !strings.Contains(r.body, `"status":"filled"`) {
		t.Fatalf("second execute: %d %s", r.status, r.body)
	}
	if s := n.State(); s.Mempool != 0 || s.Counters["accepted"] != 1 {
		t.Fatalf("node state after a second execute: %+v", s)
	}
}

// A broadcast the node refuses for good returns the order to open with the
// reason and gives the nonce back (the next order takes it: no gap); a
// dropped transaction is replaced by fee under the same nonce and fills.
func TestRejectedBroadcastAndDroppedTransaction(t *testing.T) {
	c := setUp(t, map[string]string{"STXGATE_STACKS_STUCK_AFTER": "1h"})
	n := c.node
	c.createOrder("rej-1", 100_000)
	c.createOrder("drop-1", 200_000)

	n.RejectNext(3, "NotEnoughFunds", map[string]any{"expected": "0x0000000000000000000000000000ffff", "actual": "0x00000000000000000000000000000000"})
	r := c.execute("rej-1")
	want := `{"code":"settlement_failed","details":{"status":"open","uuid":"rej-1"},` +
		`"error":"Settlement failed: settlement rejected: stacks node: NotEnoughFunds (the executor account cannot pay the fee (fund it))","timestamp":"TIME"}`
	var e map[string]any
	if json.Unmarshal([]byte(r.body), &e) == nil {
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(e["timestamp"])); err == nil {
			e["timestamp"] = "TIME"
		}
	}
	if got, _ := json.Marshal(e); r.status != http.StatusBadGateway || string(got) != want {
		t.Fatalf("execute with the node refusing: %d %s\nwant 502 %s", r.status, r.body, want)
	}
	if o := c.order("rej-1"); o.Status != "open" || o.TxID != nil || str(o.LastError) != "settlement rejected: stacks node: NotEnoughFunds (the executor account cannot pay the fee (fund it))" {
		t.Fatalf("order after the refusal: %+v", o)
	}
	if s := n.State(); s.Mempool != 0 {
		t.Fatalf("mempool after the refusal: %+v", s)
	}

	// The refused nonce 0 is given back: the next execution takes it.
	dropTx := c.submitted("drop-1")
	first, _ := n.TxStatus(dropTx)
	if first.Nonce != 0 {
		t.Fatalf("after a refused broadcast the next transaction has nonce %d, want the given-back 0", first.Nonce)
	}
	n.Drop(dropTx, "")
	if f, r := c.track(); f != 0 || r != 0 {
		t.Fatalf("tracker on a dropped transaction: %d filled, %d reopened", f, r)
	}
	o := c.order("drop-1")
	if o.Status != "submitted" || str(o.TxID) == dropTx {
		t.Fatalf("order after the replacement: %+v, want submitted with a new txid", o)
	}
	replacement, ok := n.TxStatus(str(o.TxID))
	firstFee, _ := strconv.ParseUint(first.FeeRate, 10, 64)
	newFee, _ := strconv.ParseUint(replacement.FeeRate, 10, 64)
	if !ok || replacement.Status != "pending" || replacement.Nonce != first.Nonce || newFee != firstFee+firstFee/4+1 {
		t.Fatalf("replacement %+v (fee %d), want pending under nonce %d with fee %d", replacement, newFee, first.Nonce, firstFee+firstFee/4+1)
	}
	if got, _ := c.gw.Executor.Stats(c.executorAddr); got.Replacements != 1 {
		t.Fatalf("replacements metric %d, want 1", got.Replacements)
	}
	if old, _ := n.TxStatus(dropTx); old.Status != "dropped_stale_garbage_collect" {
		t.Fatalf("the dropped transaction: %+v", old)
	}
	n.Mine(1)
	if f, r := c.track(); f != 1 || r != 0 {
		t.Fatalf("tracker after the block: %d filled, %d reopened", f, r)
	}
	mined, _ := n.TxStatus(str(o.TxID))
	if o := c.order("drop-1"); o.Status != "filled" || o.BlockHeight == nil || *o.BlockHeight != int64(mined.BlockHeight) {
		t.Fatalf("order after the replacement mined: %+v (tx %+v)", o, mined)
	}
	if got := n.Balances(c.recipAddr)[c.tokenB+"::token"]; got != strconv.FormatUint(quote(200_000, poolA, poolB), 10) {
		t.Fatalf("recipient holds %s of token-b, want %d", got, quote(200_000, poolA, poolB))
	}
	if got := n.Balances(c.executorAddr)["STX"]; got != strconv.FormatUint(executorFunds-newFee, 10) {
		t.Fatalf("executor holds %s µSTX, want %d - the replacement's fee %d (the dropped one paid nothing)", got, executorFunds, newFee)
	}

	// The refused order executes now under the next nonce, 1.
	again := c.submitted("rej-1")
	if tx, _ := n.TxStatus(again); tx.Nonce != 1 {
		t.Fatalf("the refused order's second execution has nonce %d, want 1", tx.Nonce)
	}
	n.Mine(1)
	if f, _ := c.track(); f != 1 {
		t.Fatalf("tracker: %d filled, want 1", f)
	}
	if o := c.order("rej-1"); o.Status != "filled" || str(o.TxID) != again {
		t.Fatalf("refused order after its second execution: %+v", o)
	}
}

// testLog shows the gateway's log in the test's output (on failure or -v).
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// A nonce the node never saw leaves a gap (detected_missing_nonces) that
// stops every later transaction of the executor. The gap filler closes it:
// a reserved transaction whose broadcast was lost (as in a crash between
// reserving and broadcasting) is re-broadcast from its stored bytes, and a
// nonce given back that no order took is filled with a 1 µSTX transfer.
func TestNonceGapsFilled(t *testing.T) {
	c := setUp(t, nil)
	n := c.node
	ctx := context.Background()
	for _, u := range []string{"gap-a", "gap-b", "gap-c"} {
		c.createOrder(u, 100_000)
	}

	// gap-a's broadcast is lost: its nonce 0 is reserved with signed bytes,
	// the outcome unknown, the order left executing.
	n.SetFaults(testnode.Faults{UnavailableNext: testnode.Ptr(1)})
	if r := c.execute("gap-a"); r.status != http.StatusBadGateway || errorCode(r.body) != "settlement_unknown" {
		t.Fatalf("execute with the broadcast lost: %d %s", r.status, r.body)
	}
	txB := c.submitted("gap-b")
	if tx, _ := n.TxStatus(txB); tx.Nonce != 1 {
		t.Fatalf("gap-b has nonce %d, want 1", tx.Nonce)
	}
	if _, mined := n.Mine(1); mined != 0 {
		t.Fatalf("mined %d transactions over the gap at nonce 0, want 0", mined)
	}
	missing := c.nonces()
	if fmt.Sprint(missing.Missing) != "[0]" {
		t.Fatalf("node's nonces: %+v, want nonce 0 missing", missing)
	}
	filled, err := c.gw.Executor.FillGaps(ctx)
	if err != nil || filled != 1 {
		t.Fatalf("FillGaps: %d, %v; want 1", filled, err)
	}
	if got, _ := c.gw.Executor.Stats(c.executorAddr); got.GapsFilled != 1 || got.Unconfirmed != 2 {
		t.Fatalf("executor stats %+v, want 1 gap filled and 2 unconfirmed", got)
	}
	if _, mined := n.Mine(1); mined != 2 {
		t.Fatalf("mined %d transactions after the gap was filled, want 2", mined)
	}
	// Nonce 0 carries gap-a's own transaction: reconciliation finds it
	// mined and the tracker fills both orders.
	txs := n.Txs(c.executorAddr)
	if len(txs) != 2 || txs[0].Nonce != 0 || txs[0].Status != "success" || !strings.Contains(txs[0].ContractCall.FunctionArgs[0].Repr, `(uuid "gap-a")`) {
		t.Fatalf("executor's transactions: %+v", txs)
	}
	if f, _, err := c.gw.Orders.Reconcile(ctx, 0); err != nil || f != 1 {
		t.Fatalf("reconcile: %d, %v", f, err)
	}
	if f, r := c.track(); f != 2 || r != 0 {
		t.Fatalf("tracker: %d filled, %d reopened; want 2, 0", f, r)
	}
	if o := c.order("gap-a"); o.Status != "filled" || str(o.TxID) != txs[0].TxID {
		t.Fatalf("gap-a: %+v, want filled by %s", o, txs[0].TxID)
	}

	// gap-c's broadcast is lost too (nonce 2), then reconciliation's
	// re-broadcast is refused for good: the nonce is given back and the
	// order opens again. Meanwhile another transaction went out under nonce
	// 3 (the account's next): nonce 2 is a gap no order is bound to.
	n.SetFaults(testnode.Faults{UnavailableNext: testnode.Ptr(1)})
	if r := c.execute("gap-c"); r.status != http.StatusBadGateway || errorCode(r.body) != "settlement_unknown" {
		t.Fatalf("execute gap-c with the broadcast lost: %d %s", r.status, r.body)
	}
	c.createOrder("gap-d", 100_000)
	txD := c.submitted("gap-d")
	if tx, _ := n.TxStatus(txD); tx.Nonce != 3 {
		t.Fatalf("gap-d has nonce %d, want 3", tx.Nonce)
	}
	n.RejectNext(1, "TemporarilyBlacklisted", nil)
	if _, released, err := c.gw.Orders.Reconcile(ctx, 0); err != nil || released != 1 {
		t.Fatalf("reconcile gap-c: %d released, %v; want 1", released, err)
	}
	if o := c.order("gap-c"); o.Status != "open" || !strings.Contains(str(o.LastError), "TemporarilyBlacklisted") {
		t.Fatalf("gap-c after the refusal: %+v", o)
	}
	if filled, err := c.gw.Executor.FillGaps(ctx); err != nil || filled != 1 {
		t.Fatalf("FillGaps: %d, %v; want 1", filled, err)
	}
	if _, mined := n.Mine(1); mined != 2 {
		t.Fatalf("mined %d after the filler, want 2", mined)
	}
	txs = n.Txs(c.executorAddr)
	filler := txs[2]
	if len(txs) != 4 || filler.Nonce != 2 || filler.Status != "success" || filler.TokenTransfer == nil ||
		filler.TokenTransfer.Amount != "1" || filler.TokenTransfer.Recipient != c.settlement || filler.FeeRate != "1000" {
		t.Fatalf("nonce 2: %+v, want a 1 µSTX transfer to the settlement contract at the 1000 µSTX fee floor", filler)
	}
	if f, _ := c.track(); f != 1 {
		t.Fatalf("tracker: %d filled, want gap-d", f)
	}
	// gap-c executes again under the next nonce, 4.
	if tx, _ := n.TxStatus(c.submitted("gap-c")); tx.Nonce != 4 {
		t.Fatalf("gap-c's second execution has nonce %d, want 4", tx.Nonce)
	}
	if got := c.nonces(); got.PossibleNext != 5 || len(got.Missing) != 0 {
		t.Fatalf("node's nonces at the end: %+v", got)
	}
}

type accountNonces struct {
	PossibleNext uint64   `json:"possible_next_nonce"`
	Missing      []uint64 `json:"detected_missing_nonces"`
}

// nonces is the node's GET /extended/v1/address/{executor}/nonces.
func (c *chain) nonces() accountNonces {
	c.t.Helper()
	resp, err := http.Get(c.node.URL + "/extended/v1/address/" + c.executorAddr + "/nonces")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out accountNonces
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// A transaction that aborts with (err u1003), the uuid already executed, is
// not a failure when the executor's own earlier transaction for the order
// executed it: the tracker looks up the contract's get-executed and the
// order's transactions and fills the order with the one that succeeded.
func TestUUIDUsedByOurEarlierTransactionFills(t *testing.T) {
	c := setUp(t, nil)
	n := c.node
	c.createOrder("twice-1", 100_000)
	first := c.submitted("twice-1")
	n.Mine(1)
	mined, _ := n.TxStatus(first)
	if mined.Status != "success" {
		t.Fatalf("first transaction: %+v", mined)
	}
	// The gateway missed that success and reopened the order (as after an
	// API that briefly reported the transaction dropped): the order is
	// open again, its mined transaction still in the executor's ledger.
	conn, err := pgx.Connect(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE orders SET status = 'open', txid = NULL, settlement = NULL,
		submitted_at = NULL, executing_since = NULL WHERE uuid = 'twice-1'`); err != nil {
		t.Fatal(err)
	}
	second := c.submitted("twice-1")
	n.Mine(1)
	if tx, _ := n.TxStatus(second); tx.Status != "abort_by_response" || tx.TxResult.Repr != "(err u1003)" || tx.Nonce != 1 {
		t.Fatalf("second transaction: %+v, want aborted with (err u1003) under nonce 1", tx)
	}
	if f, r := c.track(); f != 1 || r != 0 {
		t.Fatalf("tracker: %d filled, %d reopened; want 1 filled", f, r)
	}
	if o := c.order("twice-1"); o.Status != "filled" || str(o.TxID) != first || o.BlockHeight == nil || *o.BlockHeight != int64(mined.BlockHeight) || o.LastError != nil {
		t.Fatalf("order: %+v, want filled by the first transaction %s at %d", o, first, mined.BlockHeight)
	}
}
