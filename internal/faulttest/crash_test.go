package faulttest

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKill9DuringExecutes: SIGKILL the gateway in the middle of a burst of
// executes (the relayer is slow, so several executions are between claim,
// settlement and fill), restart it on the same database, let reconciliation
// run. No order is lost, none is settled twice: every order is open or filled
// with the relayer's one txid, every order the relayer settled is filled,
// and every 200 the clients saw is the txid the order holds.
func TestKill9DuringExecutes(t *testing.T) {
	skipShort(t)
	const orders = 60
	rel := newRelayer(t, func(uuid string, call int) reply {
		if call > 0 {
			return reply{} // reconciliation after the restart: at once
		}
		h := fnv.New32a()
		h.Write([]byte(uuid))
		return reply{Delay: time.Duration(20+h.Sum32()%230) * time.Millisecond}
	})
	env := gatewayEnv(t)
	relayedEnv(env, rel, 500*time.Millisecond)
	g, w, key := keyedGateway(t, "stxgate#1", env)
	uuids := createOrders(t, g, w, key, "crash", orders)

	// The burst: every order once, a third of them twice (concurrent
	// retries), 12 clients at a time. SIGKILL after the 15th answer.
	jobs := make(chan string, orders*2)
	for i, u := range uuids {
		jobs <- u
		if i%3 == 0 {
			jobs <- u
		}
	}
	close(jobs)
	tl := newTally()
	var (
		mu      sync.Mutex
		gotTxid = map[string]string{} // uuid → txid answered with 200
		results []result
		answers atomic.Int32
		killAt  time.Time
		once    sync.Once
	)
	kill := func() { once.Do(func() { killAt = time.Now(); g.kill() }) }
	c := httpClient(false)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				r := do(c, "POST", g.url+"/api/v1/orders/"+u+"/execute", "", map[string]string{"X-API-Key": key})
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.Status == http.StatusOK {
					var b struct{ TxID string }
					_ = json.Unmarshal([]byte(r.Body), &b)
					mu.Lock()
					gotTxid[u] = b.TxID
					mu.Unlock()
				}
				if r.Status > 0 && answers.Add(1) == 15 {
					kill()
				}
			}
		}()
	}
	time.AfterFunc(3*time.Second, kill) // bound, should the answers never come
	wg.Wait()
	kill()
	for _, r := range results {
		switch {
		case r.End.Before(killAt):
			tl.add("burst: answered before the kill", r)
		case r.Start.Before(killAt):
			tl.add("burst: in flight at the kill", r)
		default:
			tl.add("burst: sent after the kill", r)
		}
	}
	atKill := stateCounts(ordersInDB(t, env["DATABASE_URL"]))
	if atKill["executing"] == 0 {
		t.Logf("no execution was in flight at the kill (%v): the run proves less than it should", atKill)
	}

	// Restart on the same database and Redis prefix; reconciliation finishes
	// what the kill interrupted.
	g2 := startGateway(t, "stxgate#2", g.env)
	rows := waitNoExecuting(t, env["DATABASE_URL"], 20*time.Second)
	afterRestart := stateCounts(rows)
	if len(rows) != orders {
		t.Fatalf("%d orders in the database, want %d", len(rows), orders)
	}
	checkSettledOnce(t, rows, rel, "open", "filled")
	for u, tx := range gotTxid {
		if rows[u].Status != "filled" || rows[u].TxID != tx {
			t.Errorf("client got 200 txid %s for %s, the order is %s %s", tx, u, rows[u].Status, rows[u].TxID)
		}
	}
	reconciled := 0
	for _, o := range rows {
		if o.Status == "filled" && gotTxid[o.UUID] == "" {
			reconciled++ // settled before the kill or claimed and settled by reconciliation
		}
	}

	// The orders still open execute normally on the restarted gateway.
	reopened := 0
	for _, o := range rows {
		if o.Status != "open" {
			continue
		}
		reopened++
		r := do(c, "POST", g2.url+"/api/v1/orders/"+o.UUID+"/execute", "", map[string]string{"X-API-Key": key})
		tl.add("after restart", r)
		if r.Status != http.StatusOK {
			t.Errorf("execute %s after restart: %s", o.UUID, r)
		}
	}
	final := ordersInDB(t, env["DATABASE_URL"])
	checkSettledOnce(t, final, rel, "filled")

	total := tl.total()
	if total.S500 != 0 || total.Other5xx != 0 || total.S503 != 0 {
		t.Errorf("server errors: %s", total)
	}
	if c := tl.get("burst: answered before the kill"); c.Transport != 0 || c.S2xx+c.S4xx != c.Sent {
		t.Errorf("before the kill: %s", c)
	}
	if c := tl.get("burst: in flight at the kill"); c.Sent > 12 {
		t.Errorf("more requests in flight than clients: %s", c)
	}
	tl.log(t, "kill -9 during 80 executes of 60 orders (12 clients), restart, reconcile:")
	maxSettle := 0
	for _, u := range uuids {
		maxSettle = max(maxSettle, rel.settlements(u))
	}
	t.Logf("orders at the kill %v; after restart and reconciliation %v (%d filled without a 200 to the client, i.e. reconciled); "+
		"%d re-executed after restart; final %v; settlements per order max=%d; relayer settled %d orders",
		atKill, afterRestart, reconciled, reopened, stateCounts(final), maxSettle, len(rel.settledUUIDs()))
}
