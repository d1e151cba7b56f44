package stacks_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// The second "Done when", on one test node mining every 250 ms:
// two gateway processes share PostgreSQL and Redis, and 200 concurrent
// executes (each of 100 orders asked of both gateways at once) end with
// every order filled exactly once on chain, the executor's nonces used
// contiguously from 0 with no gap and no reuse, and balances exact. Then the
// same with the node refusing 10 % of broadcasts, dropping 5 % of the
// transactions it accepted, and one gateway killed with SIGKILL mid-run:
// the survivor's reconciliation, tracker and gap filler finish everything.
// Each round has its own executor account and database, on the same chain.
func TestTwoGatewaysSettleEveryOrderOnceOnChain(t *testing.T) {
	start := time.Now()
	c := startChain(t, testnode.Options{BlockInterval: 250 * time.Millisecond})
	c.validity = 24 * time.Hour // each mined transaction moves the chain's clock 10 s on
	bin := testgateway.Binary(t)
	t.Run("Clean", func(t *testing.T) { runRound(t, c, bin, "clean", false) })
	t.Run("FaultsAndSIGKILL", func(t *testing.T) { runRound(t, c, bin, "faults", true) })
	t.Logf("both rounds, node start included: %v", time.Since(start).Round(100*time.Millisecond))
}

const roundOrders = 100

// roundKey is a fixed executor key of its own for each round.
func roundKey(round string) string {
	h := sha256.Sum256([]byte("stxgate concurrency test executor " + round))
	return hex.EncodeToString(h[:]) + "01"
}

func runRound(t *testing.T, base *chain, bin, round string, faults bool) {
	roundStart := time.Now()
	c := *base
	c.t = t
	keyHex := roundKey(round)
	const funds = 1_000_000_000
	c.authorise(keyHex, funds)
	env := c.gatewayEnv(keyHex)
	for k, v := range map[string]string{
		"STXGATE_STACKS_POLL_INTERVAL": "200ms", "STXGATE_MAINTENANCE_INTERVAL": "500ms", "STXGATE_RECONCILE_AFTER": "3s",
		"STXGATE_STACKS_STUCK_AFTER": "30s", "STXGATE_RATE_LIMIT_MINUTE": "100000", "STXGATE_RATE_LIMIT_HOUR": "100000",
		"STXGATE_RATE_LIMIT_DAY": "100000", "STXGATE_PUBLIC_LIMIT_MINUTE": "100000",
	} {
		env[k] = v
	}
	gws := make([]*testgateway.Process, 2)
	var wg sync.WaitGroup
	for i := range gws {
		vars := map[string]string{}
		for k, v := range env {
			vars[k] = v
		}
		wg.Go(func() { gws[i] = testgateway.StartProcess(t, bin, vars) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	via := func(i int) *chain {
		v := c
		v.base = gws[i].URL
		return &v
	}
	c.base = gws[0].URL
	c.apiKey = c.createKey()
	uuids := make([]string, roundOrders)
	amounts := map[string]uint64{}
	for i := range uuids {
		uuids[i] = fmt.Sprintf("%s-%03d", round, i)
		amounts[uuids[i]] = 1_000 + uint64(i)
		via(i%2).createOrder(uuids[i], amounts[uuids[i]])
	}
	before := c.snapshot()
	t.Logf("%s: gateways up and %d orders created in %v", round, roundOrders, time.Since(roundStart).Round(100*time.Millisecond))

	if faults {
		c.node.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(0.10), RejectReason: testnode.Ptr("TemporarilyBlacklisted"),
			DropFraction: testnode.Ptr(0.05), Seed: testnode.Ptr(7)})
		t.Cleanup(func() {
			c.node.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(0.0), DropFraction: testnode.Ptr(0.0)})
		})
	}

	// 200 executes at once: every order asked of both gateways.
	type result struct {
		uuid string
		gw   int
		a    answer
	}
	results := make(chan result, 2*roundOrders)
	answered := make(chan struct{}, 2*roundOrders)
	go0 := make(chan struct{})
	execStart := time.Now()
	for _, u := range uuids {
		for g := range gws {
			wg.Go(func() {
				<-go0
				r := via(g).execute(u)
				results <- result{u, g, r}
				answered <- struct{}{}
			})
		}
	}
	close(go0)
	killed := false
	if faults {
		// SIGKILL the second gateway once a quarter of the executes have
		// their answer: the rest are in flight on both.
		for range roundOrders / 2 {
			<-answered
		}
		gws[1].Kill()
		killed = true
		t.Logf("%s: gateway 1 killed with SIGKILL %v after the executes began", round, time.Since(execStart).Round(10*time.Millisecond))
	}
	wg.Wait()
	close(results)
	execTime := time.Since(execStart)

	// Per order, exactly one execute claims it; the other is told the order
	// is not open. The claimer hears success, or (the executor account's
	// 25 unconfirmed transactions in use for longer than the executor
	// queues) that the outcome is unknown: reconciliation sends it. With
	// faults, a refused broadcast reopens the order, so both may claim it,
	// and the killed gateway's callers lose their connection.
	won, claimed, queued := map[string]int{}, map[string]int{}, 0
	for r := range results {
		switch {
		case r.a.status == http.StatusOK:
			var out map[string]string
			// filled: the other gateway's reconciliation sent the
			// transaction of a long-queued execute and its block came first.
			if json.Unmarshal([]byte(r.a.body), &out) != nil || out["status"] != "success" || (out["state"] != "submitted" && out["state"] != "filled") ||
				out["settlement"] != "stacks" || len(out["txid"]) != 66 {
				t.Errorf("execute %s on gateway %d: %s", r.uuid, r.gw, r.a.body)
			}
			won[r.uuid]++
			claimed[r.uuid]++
		case r.a.status == http.StatusBadRequest && errorCode(r.a.body) == "order_not_open":
		case r.a.status == http.StatusBadGateway && errorCode(r.a.body) == "settlement_unknown":
			claimed[r.uuid]++
			queued++
		case faults && r.a.status == http.StatusBadGateway && errorCode(r.a.body) == "settlement_failed":
			claimed[r.uuid]++
		case faults && killed && r.gw == 1 && r.a.status == 0: // the killed gateway's connection
		default:
			t.Errorf("execute %s on gateway %d: %d %s", r.uuid, r.gw, r.a.status, r.a.body)
		}
	}
	for _, u := range uuids {
		if won[u] > 1 || (!faults && claimed[u] != 1) {
			t.Errorf("order %s: %d executes answered success and %d claimed it, want at most 1 and (without faults) exactly 1", u, won[u], claimed[u])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// What a bot does after: re-execute orders a refused broadcast reopened,
	// on the surviving gateway, until the chain has filled every order.
	survivor := via(0)
	// An execute queued past the executor's wait is reconciled under a
	// lease of a minute when its first attempt is still unknown: on a busy
	// machine the round takes that long.
	deadline := time.Now().Add(90 * time.Second)
	reexecuted := 0
	for {
		open, pending := 0, 0
		for _, u := range uuids {
			switch o := survivor.order(u); o.Status {
			case "filled":
			case "open":
				open++
				if r := survivor.execute(u); r.status != http.StatusOK && r.status != http.StatusBadGateway {
					t.Fatalf("re-execute %s: %d %s", u, r.status, r.body)
				}
				reexecuted++
			default:
				pending++
			}
		}
		if open+pending == 0 {
			break
		}
		if !faults && open > 0 {
			t.Fatalf("%d orders open again without any fault", open)
		}
		if time.Now().After(deadline) {
			for _, u := range uuids {
				if o := survivor.order(u); o.Status != "filled" {
					t.Logf("%s: %s %s", u, o.Status, str(o.LastError))
				}
			}
			st := c.node.State()
			t.Logf("node: %+v", st)
			for _, tx := range c.node.Txs(c.executorAddr) {
				t.Logf("tx nonce %d %s %s fee %s", tx.Nonce, tx.TxID, tx.Status, tx.FeeRate)
			}
			t.Fatalf("%s: %d orders open and %d executing or submitted after 90 s", round, open, pending)
		}
		time.Sleep(200 * time.Millisecond) // polling the chain's progress, as a client would
	}
	t.Logf("%s: 200 executes answered in %v (%d queued for reconciliation); every order filled %v after they began (%d re-executed)",
		round, execTime.Round(10*time.Millisecond), queued, time.Since(execStart).Round(10*time.Millisecond), reexecuted)

	c.checkChain(uuids, amounts, before, funds)
	st := c.node.State()
	t.Logf("%s round: %v; node counters %v, refusals %v", round, time.Since(roundStart).Round(100*time.Millisecond), st.Counters, st.RejectedBy)
}

func errorCode(body string) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Code
}

// balances is what the chain holds before a round.
type balances struct {
	recipientB, contractA, contractB *big.Int
	deposit                          *big.Int
	reserveIn, reserveOut            *big.Int
}

var uintRepr = regexp.MustCompile(`^u([0-9]+)$`)

func bigOf(t *testing.T, s string) *big.Int {
	t.Helper()
	if m := uintRepr.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if s == "" {
		return new(big.Int)
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

var reservesRepr = regexp.MustCompile(`^\(ok \(tuple \(reserve-in u([0-9]+)\) \(reserve-out u([0-9]+)\)\)\)$`)

func (c *chain) snapshot() balances {
	c.t.Helper()
	contract := c.node.Balances(c.settlement)
	res := c.readOnly("get-reserves", pv(c.t, c.tokenA), pv(c.t, c.tokenB))
	m := reservesRepr.FindStringSubmatch(res)
	if m == nil {
		c.t.Fatalf("get-reserves: %s", res)
	}
	return balances{
		recipientB: bigOf(c.t, c.node.Balances(c.recipAddr)[c.tokenB+"::token"]),
		contractA:  bigOf(c.t, contract[c.tokenA+"::token"]), contractB: bigOf(c.t, contract[c.tokenB+"::token"]),
		deposit:   bigOf(c.t, c.depositOf(c.ownerAddr, c.tokenA)),
		reserveIn: bigOf(c.t, m[1]), reserveOut: bigOf(c.t, m[2]),
	}
}

// readOnly calls a read-only function of the settlement contract and
// returns the result as Clarity.
func (c *chain) readOnly(function string, args ...stacks.Value) string {
	c.t.Helper()
	return c.node.ReadOnly(c.settlement, function, c.ownerAddr, args...)
}

var (
	uuidArg    = regexp.MustCompile(`\(uuid "([^"]+)"\)`)
	amountsOut = regexp.MustCompile(`^\(ok \(tuple \(amount-in u([0-9]+)\) \(amount-out u([0-9]+)\)\)\)$`)
)

// checkChain checks the round on the node and the contract, not on the
// gateway's word: the executor's transactions use nonces 0..n-1 each once
// (no gap, no reuse) and none is left pending; each order has exactly one
// successful execute-order, which the contract records as executed and
// the order shows with its block; balances moved by exactly what those
// transactions did, and the executor paid exactly their fees.
func (c *chain) checkChain(uuids []string, amounts map[string]uint64, before balances, funds uint64) {
	t := c.t
	t.Helper()
	txs := c.node.Txs(c.executorAddr)
	mined := map[uint64]testnode.Tx{}
	var inBlockOrder []testnode.Tx
	var dropped, fillers int
	fees, sentSTX := new(big.Int), new(big.Int)
	for _, tx := range txs {
		switch tx.Status {
		case "pending":
			t.Errorf("transaction %s (nonce %d) still pending", tx.TxID, tx.Nonce)
		case "success", "abort_by_response", "abort_by_post_condition":
			if prev, dup := mined[tx.Nonce]; dup {
				t.Errorf("nonce %d used twice on chain: %s and %s", tx.Nonce, prev.TxID, tx.TxID)
			}
			mined[tx.Nonce] = tx
			inBlockOrder = append(inBlockOrder, tx)
			fees.Add(fees, bigOf(t, tx.FeeRate))
			if tx.TokenTransfer != nil {
				fillers++
				sentSTX.Add(sentSTX, bigOf(t, tx.TokenTransfer.Amount))
			}
		default:
			dropped++
		}
	}
	for n := range uint64(len(mined)) {
		if _, ok := mined[n]; !ok {
			t.Errorf("nonce gap: %d of the executor's nonces mined, but not nonce %d", len(mined), n)
		}
	}
	sort.Slice(inBlockOrder, func(i, j int) bool { return inBlockOrder[i].BlockHeight < inBlockOrder[j].BlockHeight })

	// Replay the pool in block order: every payout is the constant product's.
	rIn, rOut := new(big.Int).Set(before.reserveIn), new(big.Int).Set(before.reserveOut)
	totalIn, totalOut := new(big.Int), new(big.Int)
	filledBy := map[string]testnode.Tx{}
	aborts := 0
	for _, tx := range inBlockOrder {
		if tx.ContractCall == nil {
			continue
		}
		m := uuidArg.FindStringSubmatch(tx.ContractCall.FunctionArgs[0].Repr)
		if tx.ContractCall.FunctionName != "execute-order" || m == nil {
			t.Errorf("unexpected call %+v", tx.ContractCall)
			continue
		}
		if tx.Status != "success" {
			aborts++
			t.Logf("order %s: transaction %s %s %s", m[1], tx.TxID, tx.Status, tx.TxResult.Repr)
			continue
		}
		if prev, dup := filledBy[m[1]]; dup {
			t.Errorf("order %s filled twice on chain: %s and %s", m[1], prev.TxID, tx.TxID)
		}
		filledBy[m[1]] = tx
		out := amountsOut.FindStringSubmatch(tx.TxResult.Repr)
		if out == nil {
			t.Fatalf("result of %s: %s", tx.TxID, tx.TxResult.Repr)
		}
		in := bigOf(t, out[1])
		want := quoteBig(in, rIn, rOut)
		if in.Uint64() != amounts[m[1]] || bigOf(t, out[2]).Cmp(want) != 0 {
			t.Errorf("order %s: %s, want amount-in %d and amount-out %s from the pool at that block", m[1], tx.TxResult.Repr, amounts[m[1]], want)
		}
		rIn.Add(rIn, in)
		rOut.Sub(rOut, want)
		totalIn.Add(totalIn, in)
		totalOut.Add(totalOut, want)
	}
	for _, u := range uuids {
		tx, ok := filledBy[u]
		if !ok {
			t.Errorf("order %s has no successful transaction on chain", u)
			continue
		}
		uv, err := stacks.StringASCII(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.readOnly("get-executed", uv); got != fmt.Sprintf("(some (tuple (block-height u%d) (owner %s)))", tx.BlockHeight, c.ownerAddr) {
			t.Errorf("contract's get-executed %s: %s, want block %d", u, got, tx.BlockHeight)
		}
		if o := c.order(u); o.Status != "filled" || str(o.TxID) != tx.TxID || o.BlockHeight == nil || *o.BlockHeight != int64(tx.BlockHeight) {
			t.Errorf("order %s: %+v, want filled by %s at %d", u, o, tx.TxID, tx.BlockHeight)
		}
	}
	if len(filledBy) != len(uuids) {
		t.Errorf("%d orders filled on chain, want %d", len(filledBy), len(uuids))
	}

	after := c.snapshot()
	check := func(what string, got, was, delta *big.Int) {
		if want := new(big.Int).Add(was, delta); got.Cmp(want) != 0 {
			t.Errorf("%s: %s, want %s (before %s, moved %s)", what, got, want, was, delta)
		}
	}
	check("recipient's token-b", after.recipientB, before.recipientB, totalOut)
	check("contract's token-b", after.contractB, before.contractB, new(big.Int).Neg(totalOut))
	check("contract's token-a", after.contractA, before.contractA, new(big.Int))
	check("owner's deposit", after.deposit, before.deposit, new(big.Int).Neg(totalIn))
	check("pool's reserve-in", after.reserveIn, before.reserveIn, totalIn)
	check("pool's reserve-out", after.reserveOut, before.reserveOut, new(big.Int).Neg(totalOut))
	spent := new(big.Int).Add(fees, sentSTX)
	check("executor's µSTX", bigOf(c.t, c.node.Balances(c.executorAddr)["STX"]), new(big.Int).SetUint64(funds), spent.Neg(spent))

	// The gateways' ledger agrees: nonces 0..n-1, none pending or free (a
	// void one is a given-back nonce the chain used meanwhile: a re-sent
	// transaction of ours, as the u1003 aborts above show).
	conn, err := pgx.Connect(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, usedRows, maxNonce int64
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE state IN ('mined', 'void')), COALESCE(max(nonce), -1)
		FROM stacks_executor_txs WHERE address = $1`, c.executorAddr).Scan(&rows, &usedRows, &maxNonce); err != nil {
		t.Fatal(err)
	}
	if rows != int64(len(mined)) || usedRows != rows || maxNonce != int64(len(mined))-1 {
		t.Errorf("executor ledger: %d nonces (%d mined or void, highest %d), want %d all used", rows, usedRows, maxNonce, len(mined))
	}
	t.Logf("on chain: %d transactions mined under nonces 0..%d (%d execute-order aborts, %d gap fillers), %d dropped; fees %s µSTX",
		len(mined), len(mined)-1, aborts, fillers, dropped, fees)
}

// quoteBig is quote on big integers.
func quoteBig(in, reserveIn, reserveOut *big.Int) *big.Int {
	withFee := new(big.Int).Mul(in, big.NewInt(9970))
	num := new(big.Int).Mul(withFee, reserveOut)
	den := new(big.Int).Add(new(big.Int).Mul(reserveIn, big.NewInt(10000)), withFee)
	return num.Div(num, den)
}
