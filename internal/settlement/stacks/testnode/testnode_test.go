package testnode_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Keys of this test: the order's owner signs orders (SIP-018), the executor
// signs transactions. Neither is a devnet account: the node takes any sender.
const (
	ownerKey    = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"
	executorKey = "e494f188c2d35887531ba474c433b1e41fadd8eb824aca983447fd4bb8b277a801"
	strangerKey = "edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01"
)

type world struct {
	t                              *testing.T
	node                           *testnode.Node
	owner, executor                *stacks.PrivateKey
	ownerAddr, executorAddr, recip string
	settlement, tokenA, tokenB     string
	settlementP, tokenAP, tokenBP  stacks.Principal
	domain                         stacks.Domain
	poolA, poolB, deposit          uint64
}

func key(t *testing.T, h string) *stacks.PrivateKey {
	k, err := stacks.ParsePrivateKey(h)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func principal(t *testing.T, s string) stacks.Principal {
	p, err := stacks.ParsePrincipal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setUp starts a node that mines only when told and gives it a pool, an
// owner's deposit and a funded, authorised executor.
func setUp(t *testing.T) *world {
	n := testnode.Start(t, testnode.Options{BlockInterval: -1})
	w := &world{t: t, node: n, owner: key(t, ownerKey), executor: key(t, executorKey),
		settlement: n.Contract("stxgate-settlement"), tokenA: n.Contract("token-a"), tokenB: n.Contract("token-b"),
		domain: stacks.NewDomain("stxgate", "1", stacks.Testnet), poolA: 50_000_000_000, poolB: 20_000_000_000, deposit: 5_000_000}
	w.ownerAddr = w.owner.Address(stacks.Testnet).String()
	w.executorAddr = w.executor.Address(stacks.Testnet).String()
	w.recip = key(t, strangerKey).Address(stacks.Testnet).String()
	w.settlementP, w.tokenAP, w.tokenBP = principal(t, w.settlement), principal(t, w.tokenA), principal(t, w.tokenB)
	d := n.Deployer
	pv := func(s string) stacks.Value { return stacks.PrincipalValue(principal(t, s)) }
	n.MustCall(w.tokenA, "mint", d, stacks.UInt(w.poolA), pv(d))
	n.MustCall(w.tokenB, "mint", d, stacks.UInt(w.poolB), pv(d))
	n.MustCall(w.tokenA, "mint", d, stacks.UInt(w.deposit), pv(w.ownerAddr))
	n.MustCall(w.settlement, "add-liquidity", d, pv(w.tokenA), pv(w.tokenB), stacks.UInt(w.poolA), stacks.UInt(w.poolB))
	n.MustCall(w.settlement, "set-executor", d, pv(w.executorAddr), stacks.Bool(true))
	n.MustCall(w.settlement, "deposit", w.ownerAddr, pv(w.tokenA), stacks.UInt(w.deposit))
	n.Fund(w.executorAddr, 10_000_000)
	return w
}

func (w *world) order(uuid string, amountIn uint64) ordersig.Order {
	now := time.Now().Unix()
	return ordersig.Order{Owner: w.ownerAddr, InputToken: w.tokenA, OutputToken: w.tokenB, AmountIn: strconv.FormatUint(amountIn, 10),
		TargetPrice: "0.30", Direction: "gt", ConditionToken: w.tokenA, Recipient: w.recip, UUID: uuid,
		ValidFrom: now - 60, ValidTo: now + 3600}
}

// executeTx is what the executor broadcasts: execute-order with the owner's
// signature and the order's tokens as traits, in deny mode with a cap on the
// contract's input-token outflow and a floor on its output-token payout.
func (w *world) executeTx(o ordersig.Order, nonce, fee, minOut uint64) (*stacks.Transaction, []byte) {
	t := w.t
	sig, err := ordersig.Sign(w.owner, o, w.domain)
	if err != nil {
		t.Fatal(err)
	}
	args, err := ordersig.ExecuteOrderArgs(o, w.domain, sig)
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, stacks.PrincipalValue(principal(t, o.InputToken)), stacks.PrincipalValue(principal(t, o.OutputToken)))
	inputCap, err := ordersig.InputCap(o, w.settlementP, "token")
	if err != nil {
		t.Fatal(err)
	}
	outAsset, err := stacks.ParseAssetInfo(o.OutputToken + "::token")
	if err != nil {
		t.Fatal(err)
	}
	payout := &stacks.FungiblePostCondition{Principal: stacks.PrincipalOf(w.settlementP), Asset: outAsset,
		Condition: stacks.SentGreaterThanOrEqual, Amount: minOut}
	tx, err := stacks.NewContractCall(stacks.Testnet, w.settlementP, "execute-order", args, stacks.TxOptions{
		Nonce: nonce, Fee: fee, PostConditionMode: stacks.PostConditionDeny, PostConditions: []stacks.PostCondition{inputCap, payout}})
	if err != nil {
		t.Fatal(err)
	}
	return w.sign(tx)
}

func (w *world) sign(tx *stacks.Transaction) (*stacks.Transaction, []byte) {
	if err := tx.Sign(w.executor); err != nil {
		w.t.Fatal(err)
	}
	raw, err := tx.Serialize()
	if err != nil {
		w.t.Fatal(err)
	}
	return tx, raw
}

func txid(t *testing.T, tx *stacks.Transaction) string {
	id, err := tx.TxID()
	if err != nil {
		t.Fatal(err)
	}
	return id.Hex()
}

// quote is the pool's constant-product payout with its 0.3 % fee.
func quote(in, reserveIn, reserveOut uint64) uint64 {
	withFee := new(big.Int).Mul(new(big.Int).SetUint64(in), big.NewInt(9970))
	num := new(big.Int).Mul(withFee, new(big.Int).SetUint64(reserveOut))
	den := new(big.Int).Add(new(big.Int).Mul(new(big.Int).SetUint64(reserveIn), big.NewInt(10000)), withFee)
	return new(big.Int).Div(num, den).Uint64()
}

func wantAccepted(t *testing.T, status int, body []byte, id string) {
	t.Helper()
	if status != http.StatusOK || string(body) != strconv.Quote(id) {
		t.Fatalf("broadcast: %d %s, want 200 %q", status, body, id)
	}
}

type rejection struct {
	Error      string         `json:"error"`
	Reason     string         `json:"reason"`
	ReasonData map[string]any `json:"reason_data"`
	TxID       string         `json:"txid"`
}

func wantRejected(t *testing.T, status int, body []byte, id, reason string) rejection {
	t.Helper()
	var r rejection
	if status != http.StatusBadRequest || json.Unmarshal(body, &r) != nil || r.Error != "transaction rejected" || r.Reason != reason || r.TxID != id {
		t.Fatalf("broadcast: %d %s, want 400 %s for %s", status, body, reason, id)
	}
	return r
}

// readOnly calls a read-only function of the settlement contract through
// POST /v2/contracts/call-read and returns the result's hex.
func (w *world) readOnly(function string, args ...stacks.Value) string {
	hexArgs := make([]string, len(args))
	for i, a := range args {
		hexArgs[i] = "0x" + hex.EncodeToString(stacks.Serialize(a))
	}
	b, _ := json.Marshal(map[string]any{"sender": w.ownerAddr, "arguments": hexArgs})
	resp, err := http.Post(w.node.URL+"/v2/contracts/call-read/"+strings.Replace(w.settlement, ".", "/", 1)+"/"+function, "application/json", bytes.NewReader(b))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Okay   bool   `json:"okay"`
		Result string `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Okay {
		w.t.Fatalf("call-read %s: %v %+v", function, err, out)
	}
	return out.Result
}

func (w *world) nonces(addr string) map[string]any {
	resp, err := http.Get(w.node.URL + "/extended/v1/address/" + addr + "/nonces")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func jsonEq(t *testing.T, got any, want string) {
	t.Helper()
	b, _ := json.Marshal(got)
	var g, wnt any
	_ = json.Unmarshal(b, &g)
	if err := json.Unmarshal([]byte(want), &wnt); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(wnt)
	if string(gb) != string(wb) {
		t.Fatalf("got %s\nwant %s", gb, wb)
	}
}

// One node for the whole sequence: it takes 10–40 s to start.
func TestNodeSettlesGoBuiltTransactions(t *testing.T) {
	w := setUp(t)
	n := w.node

	// A Go-built execute-order: accepted, pending, then mined with the
	// owner's signature verified on chain and the tokens moved.
	o1 := w.order("go-order-1", 1_000_000)
	tx1, raw1 := w.executeTx(o1, 0, 2_000, 1)
	id1 := txid(t, tx1)
	status, body := n.Broadcast(raw1)
	wantAccepted(t, status, body, id1)
	status, body = n.Broadcast(raw1) // the same bytes again: still accepted, not doubled
	wantAccepted(t, status, body, id1)
	if tx, ok := n.TxStatus(id1); !ok || tx.Status != "pending" || tx.Nonce != 0 || tx.FeeRate != "2000" || tx.Sender != w.executorAddr {
		t.Fatalf("pending tx: %+v", tx)
	}
	jsonEq(t, w.nonces(w.executorAddr), `{"last_mempool_tx_nonce":0,"last_executed_tx_nonce":null,"possible_next_nonce":1,
		"detected_missing_nonces":[],"detected_mempool_nonces":[0]}`)
	if _, mined := n.Mine(1); mined != 1 {
		t.Fatalf("mined %d transactions, want 1", mined)
	}
	out := quote(1_000_000, w.poolA, w.poolB)
	tx, _ := n.TxStatus(id1)
	if tx.Status != "success" || tx.TxResult.Repr != fmt.Sprintf("(ok (tuple (amount-in u1000000) (amount-out u%d)))", out) || tx.BlockHeight <= 0 {
		t.Fatalf("mined tx: %+v", tx)
	}
	if got := n.Balances(w.recip)[w.tokenB+"::token"]; got != strconv.FormatUint(out, 10) {
		t.Fatalf("recipient holds %s of token-b, want %d", got, out)
	}
	if got := n.Balances(w.executorAddr)["STX"]; got != "9998000" {
		t.Fatalf("executor holds %s µSTX, want 10000000 - fee 2000", got)
	}
	// The contract recorded the uuid at the height the node reports.
	executed, err := stacks.Tuple(map[string]stacks.Value{"owner": stacks.PrincipalValue(principal(t, w.ownerAddr)), "block-height": stacks.UInt(uint64(tx.BlockHeight))})
	if err != nil {
		t.Fatal(err)
	}
	uuidArg, _ := stacks.StringASCII("go-order-1")
	if got, want := w.readOnly("get-executed", uuidArg), "0x"+hex.EncodeToString(stacks.Serialize(stacks.Some(executed))); got != want {
		t.Fatalf("get-executed: %s, want %s", got, want)
	}
	jsonEq(t, w.nonces(w.executorAddr), `{"last_mempool_tx_nonce":null,"last_executed_tx_nonce":0,"possible_next_nonce":1,
		"detected_missing_nonces":[],"detected_mempool_nonces":[]}`)

	// The uuid again, signed again: the chain refuses it (abort_by_response,
	// err u1003), the nonce is used and the fee paid all the same.
	tx2, raw2 := w.executeTx(w.order("go-order-1", 5), 1, 2_000, 1)
	status, body = n.Broadcast(raw2)
	wantAccepted(t, status, body, txid(t, tx2))
	n.Mine(1)
	if tx, _ := n.TxStatus(txid(t, tx2)); tx.Status != "abort_by_response" || tx.TxResult.Repr != "(err u1003)" {
		t.Fatalf("reused uuid: %+v", tx)
	}

	// Post-conditions the call breaks (the contract must pay at least 10^12
	// token-b): abort_by_post_condition, and nothing it did stays — the same
	// order executes afterwards with honest post-conditions.
	o3 := w.order("go-order-3", 2_000_000)
	tx3, raw3 := w.executeTx(o3, 2, 2_000, 1_000_000_000_000)
	status, body = n.Broadcast(raw3)
	wantAccepted(t, status, body, txid(t, tx3))
	n.Mine(1)
	tx, _ = n.TxStatus(txid(t, tx3))
	if tx.Status != "abort_by_post_condition" || !strings.Contains(tx.PostConditionFailure, "post-condition wants gte 1000000000000") {
		t.Fatalf("broken post-condition: %+v", tx)
	}
	if got := n.Balances(w.recip)[w.tokenB+"::token"]; got != strconv.FormatUint(out, 10) {
		t.Fatalf("after the aborted call the recipient holds %s of token-b, want still %d", got, out)
	}
	tx4, raw4 := w.executeTx(o3, 3, 2_000, 1)
	status, body = n.Broadcast(raw4)
	wantAccepted(t, status, body, txid(t, tx4))
	n.Mine(1)
	out4 := quote(2_000_000, w.poolA+1_000_000, w.poolB-out)
	if tx, _ := n.TxStatus(txid(t, tx4)); tx.Status != "success" || !strings.Contains(tx.TxResult.Repr, fmt.Sprintf("(amount-out u%d)", out4)) {
		t.Fatalf("order after the aborted one: %+v", tx)
	}
	if got := n.Balances(w.executorAddr)["STX"]; got != "9992000" {
		t.Fatalf("executor holds %s µSTX, want 10000000 - 4 fees of 2000", got)
	}

	t.Run("Rejections", func(t *testing.T) {
		w.t = t
		stale, raw := w.executeTx(w.order("r-1", 10_000), 0, 2_000, 1)
		r := w.reject(raw, txid(t, stale), "BadNonce")
		jsonEq(t, r.ReasonData, fmt.Sprintf(`{"expected":4,"actual":0,"principal":%q,"is_origin":true}`, w.executorAddr))

		far, raw := w.executeTx(w.order("r-2", 10_000), 4+25, 2_000, 1)
		r = w.reject(raw, txid(t, far), "TooMuchChaining")
		if r.ReasonData["expected"] != float64(28) || r.ReasonData["actual"] != float64(29) {
			t.Fatalf("TooMuchChaining data: %v", r.ReasonData)
		}

		cheap, raw := w.executeTx(w.order("r-3", 10_000), 4, 1, 1)
		r = w.reject(raw, txid(t, cheap), "FeeTooLow")
		jsonEq(t, r.ReasonData, fmt.Sprintf(`{"expected":%d,"actual":1}`, len(raw)))

		bad := append([]byte(nil), raw...)
		bad[60] ^= 1 // inside the origin signature
		parsed, err := stacks.ParseTransaction(bad)
		if err != nil {
			t.Fatal(err)
		}
		w.reject(bad, txid(t, parsed), "SignatureValidation")

		mainnet, err := stacks.NewTokenTransfer(stacks.Mainnet, principal(t, "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE"), 1, "", stacks.TxOptions{Nonce: 4, Fee: 1000})
		if err != nil {
			t.Fatal(err)
		}
		mainnet, raw = w.sign(mainnet)
		w.reject(raw, txid(t, mainnet), "BadTransactionVersion")

		poor := key(t, "0000000000000000000000000000000000000000000000000000000000000001"+"01")
		broke, err := stacks.NewTokenTransfer(stacks.Testnet, principal(t, w.recip), 1, "", stacks.TxOptions{Fee: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if err := broke.Sign(poor); err != nil {
			t.Fatal(err)
		}
		raw, _ = broke.Serialize()
		r = w.reject(raw, txid(t, broke), "NotEnoughFunds")
		jsonEq(t, r.ReasonData, `{"expected":"0x000000000000000000000000000003e9","actual":"0x00000000000000000000000000000000"}`)

		// Same nonce, same fee: conflict; a higher fee replaces the first.
		first, raw := w.executeTx(w.order("r-4", 10_000), 4, 2_000, 1)
		w.accept(raw, txid(t, first))
		same, raw := w.executeTx(w.order("r-5", 10_000), 4, 2_000, 1)
		w.reject(raw, txid(t, same), "ConflictingNonceInMempool")
		bump, raw := w.executeTx(w.order("r-4", 10_000), 4, 3_000, 1)
		w.accept(raw, txid(t, bump))
		if tx, _ := n.TxStatus(txid(t, first)); tx.Status != "dropped_replace_by_fee" {
			t.Fatalf("replaced tx: %+v", tx)
		}
		n.Mine(1)
		if tx, _ := n.TxStatus(txid(t, bump)); tx.Status != "success" {
			t.Fatalf("replacement: %+v", tx)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		w.t = t
		// The next two broadcasts fail with the reason given, then the node is healthy.
		n.RejectNext(2, "TooMuchChaining", map[string]any{"message": "Nonce would exceed chaining limit in mempool"})
		a, raw := w.executeTx(w.order("f-1", 10_000), 5, 2_000, 1)
		r := w.reject(raw, txid(t, a), "TooMuchChaining")
		if r.ReasonData["message"] != "Nonce would exceed chaining limit in mempool" {
			t.Fatalf("reason data: %v", r.ReasonData)
		}
		w.reject(raw, txid(t, a), "TooMuchChaining")
		w.accept(raw, txid(t, a))

		// A dropped transaction leaves a gap: the next nonce waits, and the
		// nonces endpoint names the missing one.
		b, rawB := w.executeTx(w.order("f-2", 10_000), 6, 2_000, 1)
		w.accept(rawB, txid(t, b))
		n.Drop(txid(t, a), "")
		if tx, _ := n.TxStatus(txid(t, a)); tx.Status != "dropped_stale_garbage_collect" {
			t.Fatalf("dropped: %+v", tx)
		}
		jsonEq(t, w.nonces(w.executorAddr), `{"last_mempool_tx_nonce":6,"last_executed_tx_nonce":4,"possible_next_nonce":7,
			"detected_missing_nonces":[5],"detected_mempool_nonces":[6]}`)
		if _, mined := n.Mine(2); mined != 0 {
			t.Fatalf("mined %d across a nonce gap", mined)
		}
		// Re-broadcasting the dropped transaction fills the gap; both execute in order.
		w.accept(raw, txid(t, a))
		if _, mined := n.Mine(1); mined != 2 {
			t.Fatalf("mined %d after the gap was filled, want 2", mined)
		}

		// A chain limit of 2: a third unconfirmed transaction is refused.
		n.SetFaults(testnode.Faults{ChainLimit: testnode.Ptr(2)})
		for i, nonce := range []uint64{7, 8} {
			c, raw := w.executeTx(w.order(fmt.Sprintf("f-c%d", i), 10_000), nonce, 2_000, 1)
			w.accept(raw, txid(t, c))
		}
		c, raw := w.executeTx(w.order("f-c2", 10_000), 9, 2_000, 1)
		w.reject(raw, txid(t, c), "TooMuchChaining")

		// A block interval: the node mines on its own.
		n.SetFaults(testnode.Faults{ChainLimit: testnode.Ptr(25), BlockIntervalMs: testnode.Ptr(100)})
		w.accept(raw, txid(t, c))
		if tx := n.WaitTx(txid(t, c), time.Minute); tx.Status != "success" {
			t.Fatalf("auto-mined: %+v", tx)
		}
		s := n.State()
		if s.Mempool != 0 || s.Counters["abortByPostCondition"] != 1 || s.Counters["rebuilds"] != 1 {
			t.Fatalf("state: %+v", s)
		}
	})

	t.Run("FractionsDelayFeesAndInfo", func(t *testing.T) {
		w.t = t
		n.SetFaults(testnode.Faults{BlockIntervalMs: testnode.Ptr(0)}) // back to mining on demand
		nonce := uint64(10)

		// Every broadcast refused with the reason given, then none.
		n.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(1.0), RejectReason: testnode.Ptr("NotEnoughFunds")})
		a, raw := w.executeTx(w.order("x-1", 10_000), nonce, 2_000, 1)
		w.reject(raw, txid(t, a), "NotEnoughFunds")
		n.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(0.0)})
		w.accept(raw, txid(t, a))
		nonce++

		// Half refused: over 16 broadcasts both outcomes occur, the refused
		// ones with the configured reason, and the accepted ones all mine.
		n.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(0.5), RejectReason: testnode.Ptr("ServerFailureOther"), Seed: testnode.Ptr(7)})
		accepted := 0
		for i := 0; i < 16; i++ {
			tx, raw := w.executeTx(w.order(fmt.Sprintf("x-half-%d", i), 10_000), nonce, 2_000, 1)
			status, body := n.Broadcast(raw)
			if status == http.StatusOK {
				wantAccepted(t, status, body, txid(t, tx))
				accepted++
				nonce++
				continue
			}
			wantRejected(t, status, body, txid(t, tx), "ServerFailureOther")
		}
		if accepted == 0 || accepted == 16 {
			t.Fatalf("%d of 16 accepted with rejectFraction 0.5", accepted)
		}
		n.SetFaults(testnode.Faults{RejectFraction: testnode.Ptr(0.0)})
		if _, mined := n.Mine(1); mined != accepted+1 {
			t.Fatalf("mined %d, want %d", mined, accepted+1)
		}

		// Dropped after acceptance: 200, then gone at the next block, its nonce a gap.
		n.SetFaults(testnode.Faults{DropFraction: testnode.Ptr(1.0)})
		d, raw := w.executeTx(w.order("x-drop", 10_000), nonce, 2_000, 1)
		w.accept(raw, txid(t, d))
		n.SetFaults(testnode.Faults{DropFraction: testnode.Ptr(0.0)})
		if _, mined := n.Mine(1); mined != 0 {
			t.Fatalf("mined %d of a dropped transaction", mined)
		}
		if tx, _ := n.TxStatus(txid(t, d)); tx.Status != "dropped_stale_garbage_collect" {
			t.Fatalf("dropped by fraction: %+v", tx)
		}
		w.accept(raw, txid(t, d)) // re-broadcast
		n.Mine(1)
		if tx, _ := n.TxStatus(txid(t, d)); tx.Status != "success" {
			t.Fatalf("re-broadcast: %+v", tx)
		}
		nonce++

		// A slow node: the transaction is in the mempool before the answer comes.
		n.SetFaults(testnode.Faults{DelayMs: testnode.Ptr(2000)})
		slow, raw := w.executeTx(w.order("x-slow", 10_000), nonce, 2_000, 1)
		answered := make(chan int, 1)
		go func() {
			status, _ := n.Broadcast(raw)
			answered <- status
		}()
		deadline := time.Now().Add(1500 * time.Millisecond)
		for {
			if tx, ok := n.TxStatus(txid(t, slow)); ok && tx.Status == "pending" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the delayed broadcast did not reach the mempool within 1.5 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case status := <-answered:
			t.Fatalf("answered %d before the delay", status)
		default:
		}
		if status := <-answered; status != http.StatusOK {
			t.Fatalf("delayed broadcast: %d", status)
		}
		n.SetFaults(testnode.Faults{DelayMs: testnode.Ptr(0)})
		n.Mine(1)
		nonce++

		// Fee estimates: three rates over the payload's length plus a signed transaction's overhead.
		payload, err := stacks.SerializePayload(slow.Payload)
		if err != nil {
			t.Fatal(err)
		}
		length := len(payload) + 150
		status, est := w.post("/v2/fees/transaction", fmt.Sprintf(`{"transaction_payload":"0x%x"}`, payload))
		if status != http.StatusOK {
			t.Fatalf("fee estimate: %d %v", status, est)
		}
		jsonEq(t, est["estimations"], fmt.Sprintf(`[{"fee_rate":1,"fee":%d},{"fee_rate":2,"fee":%d},{"fee_rate":4,"fee":%d}]`, length, 2*length, 4*length))
		if est["estimated_cost_scalar"] != float64(length) {
			t.Fatalf("estimated_cost_scalar %v, want %d", est["estimated_cost_scalar"], length)
		}
		n.SetFaults(testnode.Faults{FeeEstimateUnavailable: testnode.Ptr(true)})
		status, est = w.post("/v2/fees/transaction", fmt.Sprintf(`{"transaction_payload":"%x"}`, payload))
		if status != http.StatusBadRequest || est["reason"] != "NoEstimateAvailable" || est["error"] != "Estimation could not be performed" {
			t.Fatalf("estimate switched off: %d %v", status, est)
		}
		n.SetFaults(testnode.Faults{FeeEstimateUnavailable: testnode.Ptr(false)})

		// The control API refuses what it does not know.
		if status, body := w.post("/control/faults", `{"rejectEverything":true}`); status != http.StatusBadRequest || body["error"] != "unknown fault rejectEverything" {
			t.Fatalf("unknown fault: %d %v", status, body)
		}
		if status, body := w.post("/control/faults", `{"dropFraction":2}`); status != http.StatusBadRequest || body["error"] != "dropFraction must be a number in 0..1" {
			t.Fatalf("bad fraction: %d %v", status, body)
		}

		// Info and account: the tip and the executor's confirmed nonce and balance.
		info := w.getJSON("/v2/info")
		if info["stacks_tip_height"] != float64(n.State().Height) || info["network_id"] != float64(0x80000000) {
			t.Fatalf("info: %v", info)
		}
		acct := w.getJSON("/v2/accounts/" + w.executorAddr)
		paid := 2_000 * (nonce - 1) // every mined transaction but the replaced one paid 2000; the replacement 3000
		if acct["nonce"] != float64(nonce) || acct["balance"] != fmt.Sprintf("0x%032x", 10_000_000-paid-3_000) {
			t.Fatalf("account: %v, want nonce %d and balance %d", acct, nonce, 10_000_000-paid-3_000)
		}
	})
}

func (w *world) post(path, body string) (int, map[string]any) {
	w.t.Helper()
	resp, err := http.Post(w.node.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		w.t.Fatalf("POST %s: %d, body not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func (w *world) getJSON(path string) map[string]any {
	w.t.Helper()
	resp, err := http.Get(w.node.URL + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		w.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return out
}

func (w *world) accept(raw []byte, id string) {
	w.t.Helper()
	status, body := w.node.Broadcast(raw)
	wantAccepted(w.t, status, body, id)
}

func (w *world) reject(raw []byte, id, reason string) rejection {
	w.t.Helper()
	status, body := w.node.Broadcast(raw)
	return wantRejected(w.t, status, body, id, reason)
}
