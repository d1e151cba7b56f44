package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// execute-stacks: the execute path on the stacks settlement. A third gateway
// (testnet, STXGATE_SETTLEMENT=stacks, its own database) executes orders by
// building, signing and broadcasting the settlement contract's execute-order
// call to the test Stacks node (internal/settlement/stacks/testnode: the
// reference contract in clarinet simnet), which mines a block every
// stacksBlockInterval. The orders are real: signed by their owners with
// pkg/ordersig under the testnet domain the contract verifies, spending the
// owners' deposits in the contract, so each fill moves tokens on the chain.

const (
	stacksDB = "stxgate_bench_stacks"
	// stacksBlockInterval: the node mines the mempool this often. Short, so
	// that the executor account's 25 unconfirmed transactions (the mempool's
	// chaining limit) free up many times a second.
	stacksBlockInterval = 100 * time.Millisecond
	stacksChainLimit    = 25 // stacks-node's default, the executor's too
	stacksOrderAmount   = 1000
	stacksDeposit       = 1_000_000_000_000 // token-a base units per owner
	stacksReserve       = 1_000_000_000_000_000
	stacksExecutorFunds = 10_000_000_000_000 // µSTX for fees
	// stacksDrainWait bounds the wait, after each slice, for the chain and
	// the gateway to finish what the slice started (so that its mining and
	// tracking do not run into the next phase's measurement).
	stacksDrainWait = 15 * time.Second
)

// stacksBench is the execute-stacks phase's infrastructure.
type stacksBench struct {
	note      string // why execute-stacks was not measured; "" when it was
	node      *testnode.Node
	stopNode  func()
	market    *testnode.Market
	gw        *loadkit.Process
	db        *pgxpool.Pool
	wallets   []*wallet // the bench wallets' keys, testnet addresses
	keys      []benchKey
	executors []string      // the executor accounts' addresses
	conns     int           // connections of the phase
	startTook time.Duration // the node's start (simnet, deployments)

	taken    []string // every order handed to the gateway, all rounds
	final    stacksOutcome
	finalIn  time.Duration
	state    testnode.State
	drainMax time.Duration
	undrain  int // slices after which the chain had not drained within stacksDrainWait
	pool     mempoolSampler
}

// stacksOutcome is where the orders handed to the gateway ended.
type stacksOutcome struct {
	Taken, Filled, Submitted, Executing, Refused, Untouched, Other int
	FirstError                                                     string
}

func (o stacksOutcome) String() string {
	s := fmt.Sprintf("%d orders taken: %d filled, %d submitted, %d executing, %d open again after an error, %d open never executed",
		o.Taken, o.Filled, o.Submitted, o.Executing, o.Refused, o.Untouched)
	if o.Other > 0 {
		s += fmt.Sprintf(", %d other", o.Other)
	}
	return s
}

// launchNode starts the test node in the background (10–40 s of simnet
// start-up, overlapping the rest of the setup).
func launchNode() <-chan func() (*testnode.Node, func(), time.Duration, error) {
	out := make(chan func() (*testnode.Node, func(), time.Duration, error), 1)
	go func() {
		t0 := time.Now()
		n, stop, err := testnode.Launch(testnode.Options{BlockInterval: stacksBlockInterval, ChainLimit: stacksChainLimit})
		took := time.Since(t0)
		out <- func() (*testnode.Node, func(), time.Duration, error) { return n, stop, took, err }
	}()
	return out
}

// setupStacks waits for the node, opens the market (pool, deposits, an
// authorised and funded executor), starts the stacks gateway on its own
// database and creates the owners' keys through its API. A node that cannot
// start (no Node.js, no npm packages) leaves a note: the report says in bold
// that execute-stacks was not measured.
func (b *bench) setupStacks(ctx context.Context, launched <-chan func() (*testnode.Node, func(), time.Duration, error)) error {
	st := &stacksBench{conns: b.s.stacksConns}
	b.stacks = st
	var err error
	select {
	case r := <-launched:
		st.node, st.stopNode, st.startTook, err = r()
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		st.note = err.Error()
		loadkit.Logf("execute-stacks: NOT MEASURED, the test Stacks node did not start: %v", err)
		return nil
	}
	loadkit.Logf("execute-stacks: test Stacks node up in %s (%s); opening the market", st.startTook.Round(100*time.Millisecond), st.node.URL)
	dsn, err := b.CreateDatabase(ctx, stacksDB)
	if err != nil {
		return err
	}
	// The executor accounts: a pool, one key a line in the key file, so
	// that the chaining limit of one account (25 unconfirmed) is not all
	// the phase measures.
	var keyLines []string
	for range max(1, b.s.stacksExecutors) {
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return err
		}
		st.executors = append(st.executors, k.Address(stacks.Testnet).String())
		keyLines = append(keyLines, k.Hex())
	}
	for _, w := range b.wallets {
		st.wallets = append(st.wallets, &wallet{key: w.key, addr: w.key.Address(stacks.Testnet).String()})
	}
	if err := testnode.Catch(func() {
		st.market = testnode.OpenMarket(st.node, stacksReserve, stacksReserve)
		for _, e := range st.executors {
			st.market.Authorise(e, stacksExecutorFunds)
		}
		for _, w := range st.wallets {
			st.market.Deposit(w.addr, stacksDeposit)
		}
	}); err != nil {
		return fmt.Errorf("execute-stacks: set up the chain: %w", err)
	}
	keyFile := filepath.Join(b.Dir, "executor.key")
	if err := os.WriteFile(keyFile, []byte(strings.Join(keyLines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	env := st.market.GatewayEnv(keyFile)
	// The tracker looks submitted transactions up twice a second and
	// reconciliation picks up queued executes within seconds, so that a
	// slice's work is finished (and measured) before the next phase.
	env["STXGATE_STACKS_POLL_INTERVAL"], env["STXGATE_MAINTENANCE_INTERVAL"], env["STXGATE_RECONCILE_AFTER"] = "500ms", "1s", "5s"
	if st.gw, _, err = b.startGateway(ctx, "gateway-stacks", dsn, b.Prefix+"s:", env); err != nil {
		return err
	}
	if st.db, err = pgxpool.New(ctx, dsn); err != nil {
		return err
	}
	perWallet, err := createKeys(ctx, st.gw.Addr, st.wallets, 1)
	if err != nil {
		return fmt.Errorf("execute-stacks: %w", err)
	}
	for _, ks := range perWallet {
		st.keys = append(st.keys, ks...)
	}
	loadkit.Logf("execute-stacks: %d executor account(s) authorised and funded, %d owners with deposits, gateway up", len(st.executors), len(st.wallets))
	return nil
}

// measured says whether execute-stacks runs.
func (st *stacksBench) measured() bool { return st != nil && st.note == "" }

// stop ends the node (teardown).
func (st *stacksBench) stop() {
	if st == nil {
		return
	}
	st.gw.Stop()
	if st.db != nil {
		st.db.Close()
	}
	if st.stopNode != nil {
		st.stopNode()
	}
}

// orders signs n orders of the owners (SIP-018, domain stxgate/1/testnet,
// the one the contract verifies): token-a for token-b, amount-in
// stacksOrderAmount from each owner's deposit, paid to the owner. Valid for
// a week: the test node's chain clock runs 10 s ahead per mined transaction.
func (st *stacksBench) orders(n int) ([]orderRow, error) {
	m := st.market
	return signOrdersWith(st.wallets, 1, n, stacks.NewDomain("stxgate", "1", stacks.Testnet), 7*24*time.Hour,
		func(owner, uuid string, from, to time.Time) ordersig.Order {
			return ordersig.Order{Owner: owner, Recipient: owner, InputToken: m.TokenA, OutputToken: m.TokenB, ConditionToken: m.TokenA,
				AmountIn: strconv.Itoa(stacksOrderAmount), TargetPrice: "0.30", Direction: "gt", UUID: uuid,
				ValidFrom: from.Unix(), ValidTo: to.Unix()}
		})
}

// drain waits (at most stacksDrainWait) until the node's mempool is empty
// and the gateway has no order executing or submitted: what a slice started
// is then finished, and mining and tracking stay out of the next phase.
func (st *stacksBench) drain(ctx context.Context) error {
	t0 := time.Now()
	for {
		var mempool int
		if err := testnode.Catch(func() { mempool = st.node.State().Mempool }); err != nil {
			return err
		}
		var busy int
		if err := st.db.QueryRow(ctx, `SELECT count(*) FROM orders WHERE status IN ('executing', 'submitted')`).Scan(&busy); err != nil {
			return fmt.Errorf("execute-stacks: count busy orders: %w", err)
		}
		took := time.Since(t0)
		if mempool == 0 && busy == 0 {
			st.drainMax = max(st.drainMax, took)
			return nil
		}
		if took > stacksDrainWait {
			st.undrain++
			loadkit.Logf("  execute-stacks: after %s the mempool still holds %d transactions and %d orders are executing or submitted; going on", took.Round(100*time.Millisecond), mempool, busy)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// outcome counts where the orders ended.
func (st *stacksBench) outcome(ctx context.Context, uuids []string) (stacksOutcome, error) {
	o := stacksOutcome{Taken: len(uuids)}
	rows, err := st.db.Query(ctx, `SELECT status, last_error IS NOT NULL, count(*), min(last_error) FROM orders WHERE uuid = ANY($1) GROUP BY 1, 2`, uuids)
	if err != nil {
		return o, fmt.Errorf("execute-stacks: count outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status   string
			hasError bool
			n        int
			lastErr  *string
		)
		if err := rows.Scan(&status, &hasError, &n, &lastErr); err != nil {
			return o, err
		}
		switch {
		case status == "filled":
			o.Filled += n
		case status == "submitted":
			o.Submitted += n
		case status == "executing":
			o.Executing += n
		case status == "open" && hasError:
			o.Refused += n
		case status == "open":
			o.Untouched += n
		default:
			o.Other += n
		}
		if lastErr != nil && o.FirstError == "" {
			o.FirstError = *lastErr
		}
	}
	return o, rows.Err()
}

// finish waits for the last confirmations and counts every order taken.
func (st *stacksBench) finish(ctx context.Context) error {
	t0 := time.Now()
	if err := st.drain(ctx); err != nil {
		return err
	}
	st.finalIn = time.Since(t0)
	var err error
	if st.final, err = st.outcome(ctx, st.taken); err != nil {
		return err
	}
	if err := testnode.Catch(func() { st.state = st.node.State() }); err != nil {
		return err
	}
	loadkit.Logf("execute-stacks, all rounds: %s; node: %s", st.final, st.counters())
	return nil
}

// counters is the node's view: transactions accepted, refused, mined and
// how they ended.
func (st *stacksBench) counters() string {
	c := st.state.Counters
	s := fmt.Sprintf("%d transactions accepted, %d refused, %d mined (%d success, %d abort_by_response, %d abort_by_post_condition), %d dropped",
		c["accepted"], c["rejected"], c["mined"], c["success"], c["abortByResponse"], c["abortByPostCondition"], c["dropped"])
	var by []string
	for r, n := range st.state.RejectedBy {
		by = append(by, fmt.Sprintf("%s %d", r, n))
	}
	if len(by) > 0 {
		s += " (refused: " + strings.Join(by, ", ") + ")"
	}
	return s
}

// mempoolSampler records the node's mempool (the executors' unconfirmed
// transactions: they are its only senders) while a slice runs, to tell the
// chaining limit's queueing from the node's own speed.
type mempoolSampler struct {
	n, sum, full, max int
}

// sampleMempool polls the node every 50 ms until stop is closed.
func (st *stacksBench) sampleMempool(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		var m int
		if testnode.Catch(func() { m = st.node.State().Mempool }) != nil {
			continue
		}
		st.pool.n++
		st.pool.sum += m
		st.pool.max = max(st.pool.max, m)
		if m >= len(st.executors)*stacksChainLimit-1 {
			st.pool.full++
		}
	}
}

// stacksSection is the report's execute-stacks section.
func (b *bench) stacksSection(p func(string, ...any), rounds []*Round) {
	st := b.stacks
	p("## Execute on stacks settlement")
	p("")
	if !st.measured() {
		p("**execute-stacks was not measured: %s.** It needs `node` and the npm packages of `internal/settlement/stacks/testnode` and `contracts/` (`make bench` installs them).", strings.ReplaceAll(st.note, "\n", " "))
		p("")
		return
	}
	perReq := func(f func(cpuUse) float64) float64 {
		return median(across(rounds, func(r *Round) float64 { rec := r.Phases["execute-stacks"]; return rec.perRequest(f(rec.CPU)) * 1e6 }))
	}
	p("`execute-stacks` is `execute` on a gateway with `STXGATE_SETTLEMENT=stacks` (testnet) against the test Stacks node: per request the gateway claims the order, asks the node for `get-quote`, a fee estimate and the executor's nonces, reserves the nonce in PostgreSQL, signs the contract's `execute-order` call and broadcasts it (answer `state: submitted`); the node mines every %s and the gateway's tracker (every 500 ms) records each block's orders `filled`. The orders are real: signed by %d owners with `pkg/ordersig` under the testnet domain the contract verifies, spending the deposits the owners made in the contract, so every fill moves token-a into the pool and token-b to the owner. %s (`STXGATE_EXECUTOR_KEY_FILE`, one key a line): at most %d unconfirmed transactions each; when every account's chain is full an execute waits for a free slot (re-checking every 500 ms, up to `STXGATE_STACKS_QUEUE_WAIT`, 5 s) and then answers 502 `settlement_unknown`. Measured by the tool's closed-loop client (not wrk: at this latency a wrk run stopped mid-flight drops most of a slice's requests) on %d connections, in the slices of `floor-execute` and `execute` (A B C C B A); after each slice the tool waits for the mempool to empty and every order to be filled (at most %s; longest wait %s%s): outside throughput and latency, inside the CPU window, so CPU per request includes mining and tracking each transaction.",
		stacksBlockInterval, len(st.wallets), accounts(len(st.executors)), stacksChainLimit, st.conns, stacksDrainWait, st.drainMax.Round(100*time.Millisecond),
		map[bool]string{true: fmt.Sprintf(", **%d slices did not drain in time**", st.undrain), false: ""}[st.undrain > 0])
	p("")
	p("| round | req/s | p50 | p99 | non-2xx answers (measured) | ratio to %s | where the orders handed out ended (warm-ups included) |", b.floors.name("floor-execute"))
	p("|--:|--:|--:|--:|--:|--:|---|")
	for _, r := range rounds {
		rec := r.Phases["execute-stacks"]
		outcome := "–"
		if r.Stacks != nil {
			outcome = r.Stacks.String()
		}
		p("| %d | %.0f | %s | %s | %d | %s | %s |", r.N, rec.Res.Throughput(), fmtDur(rec.Res.Quantile(0.5)), fmtDur(rec.Res.Quantile(0.99)),
			rec.Res.Errors, pct(ratio("execute-stacks", "floor-execute")(r)), outcome)
	}
	p("")
	errs := sumErrors(rounds, "execute-stacks")
	f := st.final
	// Orders handed to wrk but never sent (it was stopped first) are open
	// and untouched: not a failure. Every other order should be filled.
	verdict := "**Every order executed ended filled on chain.**"
	if failed := f.Taken - f.Filled - f.Untouched; failed > 0 || errs > 0 {
		verdict = fmt.Sprintf("**Not every execute succeeded: %d non-2xx answers in the measured slices; %d of %d executed orders not filled.**", errs, failed, f.Taken-f.Untouched)
		if f.FirstError != "" {
			verdict += fmt.Sprintf(" First recorded error: `%s`.", strings.ReplaceAll(f.FirstError, "`", "'"))
		}
	}
	p("After the last round (waited %s for the last blocks): %s. %s The node: %s.", st.finalIn.Round(100*time.Millisecond), f, verdict, st.counters())
	p("")
	meanPool, fullShare := 0.0, 0.0
	if st.pool.n > 0 {
		meanPool, fullShare = float64(st.pool.sum)/float64(st.pool.n), float64(st.pool.full)/float64(st.pool.n)
	}
	nodeUS := perReq(func(c cpuUse) float64 { return c.Chain })
	rate := median(across(rounds, thr("execute-stacks")))
	p("CPU per execute-stacks request (median of rounds): gateway %.0f µs, Redis %.0f µs, PostgreSQL %.0f µs, test node %.0f µs, load generator %.0f µs. The executors' unconfirmed transactions in the mempool averaged %.1f (at most %d of %d) and filled every account's chain %.0f %% of the time (sampled every 50 ms).",
		perReq(func(c cpuUse) float64 { return c.Server }), perReq(func(c cpuUse) float64 { return c.Redis }),
		perReq(func(c cpuUse) float64 { return c.Postgres }), nodeUS,
		perReq(func(c cpuUse) float64 { return c.Self }), meanPool, st.pool.max, len(st.executors)*stacksChainLimit, 100*fullShare)
	p("")
	// The node is one Node.js thread: at a whole core it would serve at
	// most 1 s / its CPU per execute.
	nodeBound := 0.0
	if nodeUS > 0 {
		nodeBound = 1e6 / nodeUS
	}
	var bound string
	switch {
	case fullShare >= 0.5:
		bound = fmt.Sprintf("the chaining limit of %s: %d unconfirmed transactions each, in use most of the time, so executes queued for the next block (more executor accounts, or a faster chain, is what would raise it)", accounts(len(st.executors)), stacksChainLimit)
	case nodeBound > 0 && rate >= 0.4*nodeBound:
		bound = fmt.Sprintf("the test node's single thread: it spends %.0f µs of CPU per execute (simnet running the contract call and the fee transfer, the quote, fee-estimate, nonce and broadcast requests of the executor, the tracker's look-ups), so one whole core would allow about %.0f executes/s and it ran at %.0f/s sharing two busy cores; the executor accounts' chains were not the limit", nodeUS, nodeBound, rate)
	default:
		bound = fmt.Sprintf("neither the executor accounts' chains nor the node's thread (%.0f µs per execute: about %.0f/s on a whole core) was saturated: the machine's two shared cores and the round trips of each execute (four to the node, the claim and the nonce reservation in PostgreSQL)", nodeUS, nodeBound)
	}
	p("What bounds execute-stacks here: %s. A real chain confirms in seconds (Nakamoto blocks) to minutes, so there each executor account sustains at most 25 transactions per confirmation time whatever the gateway's speed.", bound)
	p("")
}

func accounts(n int) string {
	if n == 1 {
		return "one executor account"
	}
	return fmt.Sprintf("a pool of %d executor accounts", n)
}

// step is execute-stacks' phase in a round: it joins floor-execute and
// execute (A B C C B A). Its requests take a large part of a second (the
// node answers four requests per execute and mines), so the tool's own
// closed-loop client drives it, not wrk: one run covers warm-up and slice,
// and the requests in flight at the end are waited for and counted (a wrk
// run stopped by SIGINT drops them, which at this latency was most of a
// slice). After the slice the chain and the gateway finish what it started
// (drain): inside the CPU window, so CPU per request includes mining and
// tracking each transaction; outside throughput and latency.
func (st *stacksBench) step(ctx context.Context, round *Round, rows []orderRow) step {
	p := executePool(st.gw.Addr, rows, st.keys)
	return step{key: "execute-stacks", server: st.gw,
		run: func(w, d time.Duration) (*Result, error) {
			stop, done := make(chan struct{}), make(chan struct{})
			go st.sampleMempool(stop, done)
			ph := Phase{Name: "execute-stacks", Addr: st.gw.Addr, Conns: st.conns, Warmup: w, Duration: d, Next: p.Next, OK: is2xx}
			res, err := ph.Run(ctx)
			close(stop)
			<-done
			if err != nil {
				return nil, err
			}
			return res, st.drain(ctx)
		},
		after: func() error {
			uuids := make([]string, 0, p.Used())
			for _, r := range rows[:p.Used()] {
				uuids = append(uuids, r.o.UUID)
			}
			st.taken = append(st.taken, uuids...)
			o, err := st.outcome(ctx, uuids)
			round.Stacks = &o
			loadkit.Logf("  execute-stacks, round %d: %s", round.N, o)
			return err
		}}
}
