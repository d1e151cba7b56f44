package stacks_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
)

// A second executor account for the pool tests.
const executorKey2 = "61d243e78485cb755d35ab9591ea27c87ec44f62889d686c167e0d56b89ff2ff01"

// A pool of two executor accounts takes orders in turn: with a chain limit
// of 2 unconfirmed transactions per account, four executes are submitted at
// once (two on each account, nonces 0 and 1), the fifth finds every chain
// full and is queued for reconciliation (502 settlement_unknown, the pool's
// queued count 1); after a block, every transaction is mined and the
// queued order is sent by reconciliation on whichever account has room.
func TestExecutorPoolSpreadsOrdersOverAccounts(t *testing.T) {
	t.Parallel()
	c := startChain(t, testnode.Options{BlockInterval: -1})
	c.authorise(executorKey2, executorFunds)
	second := c.executorAddr
	c.authorise(executorKey, executorFunds)
	first := c.executorAddr
	c.startGateway(executorKey+"\n# the pool's second account\n"+executorKey2,
		map[string]string{"STXGATE_STACKS_CHAIN_LIMIT": "2", "STXGATE_STACKS_QUEUE_WAIT": "0s"})
	gw := c.gw
	if got := gw.Executor.Accounts(); len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("executor accounts %q, want [%s %s]", got, first, second)
	}

	senders := map[string][]uint64{}
	for i := range 4 {
		uuid := fmt.Sprintf("pool-%d", i)
		c.createOrder(uuid, 100_000)
		tx, ok := c.node.TxStatus(c.submitted(uuid))
		if !ok || tx.Status != "pending" {
			t.Fatalf("%s: the node's record %+v (found %t)", uuid, tx, ok)
		}
		senders[tx.Sender] = append(senders[tx.Sender], tx.Nonce)
	}
	if fmt.Sprint(senders[first]) != "[0 1]" || fmt.Sprint(senders[second]) != "[0 1]" || len(senders) != 2 {
		t.Fatalf("transactions by sender and nonce %v, want nonces [0 1] on %s and on %s", senders, first, second)
	}
	for _, addr := range []string{first, second} {
		if s, ok := gw.Executor.Stats(addr); !ok || s.Unconfirmed != 2 || s.Broadcasts != 2 {
			t.Fatalf("stats of %s: %+v (%t), want 2 broadcasts and 2 unconfirmed", addr, s, ok)
		}
	}

	c.createOrder("pool-queued", 100_000)
	if r := c.execute("pool-queued"); r.status != http.StatusBadGateway || errorCode(r.body) != "settlement_unknown" {
		t.Fatalf("execute with every chain full: %d %s, want 502 settlement_unknown", r.status, r.body)
	}
	if got := gw.Executor.Queued(); got != 1 {
		t.Fatalf("queued %d, want 1", got)
	}
	if o := c.order("pool-queued"); o.Status != "executing" {
		t.Fatalf("queued order %+v, want executing", o)
	}

	if _, mined := c.node.Mine(1); mined != 4 {
		t.Fatalf("mined %d transactions, want 4", mined)
	}
	if f, r := c.track(); f != 4 || r != 0 {
		t.Fatalf("tracker: %d filled, %d reopened; want 4, 0", f, r)
	}
	if _, _, err := gw.Orders.Reconcile(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	o := c.order("pool-queued")
	if o.Status != "submitted" {
		t.Fatalf("queued order after reconciliation: %+v, want submitted", o)
	}
	tx, _ := c.node.TxStatus(str(o.TxID))
	if tx.Sender != first && tx.Sender != second || tx.Nonce != 2 {
		t.Fatalf("the queued order's transaction %+v, want nonce 2 of a pool account", tx)
	}
	if _, mined := c.node.Mine(1); mined != 1 {
		t.Fatalf("mined %d transactions, want 1", mined)
	}
	if f, r := c.track(); f != 1 || r != 0 {
		t.Fatalf("tracker: %d filled, %d reopened; want 1, 0", f, r)
	}
	for i := range 4 {
		if o := c.order(fmt.Sprintf("pool-%d", i)); o.Status != "filled" {
			t.Fatalf("pool-%d: %+v, want filled", i, o)
		}
	}
}
