// Package testnode runs the test Stacks node (server.mjs beside this file: the
// stacks-node and Hiro API endpoints on clarinet simnet, with the contracts of
// contracts/Clarinet.toml deployed) for Go tests, the way internal/testenv
// gives them PostgreSQL. README.md describes the endpoints and the control API.
package testnode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/internal/syncbuf"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// DeployerKey is the private key of Clarinet's public devnet deployer
// (settings/Devnet.toml), which deploys the contracts and is their admin. Test
// use only: the whole world knows it.
const DeployerKey = "753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601"

// startTimeout bounds the node's start: loading simnet's WebAssembly and
// deploying the contracts takes 10–40 s on a busy 2-core machine.
const startTimeout = 3 * time.Minute

// Options configure a node. The zero value mines a block every second and
// keeps stacks-node's defaults (25 unconfirmed transactions per sender, 1 µSTX
// per byte minimum fee).
type Options struct {
	// BlockInterval between mined blocks; negative: only Mine mines.
	BlockInterval time.Duration
	ChainLimit    int // 0: 25
	MinFeeRate    int // µSTX per byte; 0: 1
}

// Node is a running test node.
type Node struct {
	URL      string // http://127.0.0.1:port
	Deployer string // the contracts' deployer (and admin) address
	t        TB
	http     *http.Client
	pid      int
}

// TB is what the node needs of its test: testing.TB has it, and Launch gives
// programs outside tests (cmd/stxgate-bench) one whose failures are errors.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	Failed() bool
}

// Pid is the node process's id (its CPU is the chain's).
func (n *Node) Pid() int { return n.pid }

// Dir is the directory of server.mjs and its package.json: beside this
// source file when the build recorded its path, else (a -trimpath build
// records the import path) under the module root above the working
// directory, where tests and the bench run.
func Dir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Dir(file)
	}
	const inModule = "internal/settlement/stacks/testnode"
	dir, err := os.Getwd()
	if err != nil {
		return inModule
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, inModule, "server.mjs")); err == nil {
			return filepath.Join(dir, inModule)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return inModule // not found: Start reports the missing packages under this path
		}
		dir = parent
	}
}

// Start runs a node for the test and stops it when the test ends. Without
// Node.js or the npm packages (cd internal/settlement/stacks/testnode && npm
// ci) it skips, loudly, or fails when CI=true.
func Start(t TB, opts Options) *Node {
	t.Helper()
	dir := Dir()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@stacks", "clarinet-sdk", "package.json")); err != nil {
		missing = "its npm packages are not installed (cd " + dir + " && npm ci)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testnode: cannot start the test Stacks node: %s", missing)
		}
		t.Skipf("testnode: SKIPPING, cannot start the test Stacks node: %s", missing)
	}

	interval := opts.BlockInterval
	switch {
	case interval == 0:
		interval = time.Second
	case interval < 0:
		interval = 0
	}
	args := []string{"server.mjs", "--port", "0", "--block-interval-ms", strconv.FormatInt(interval.Milliseconds(), 10)}
	if opts.ChainLimit > 0 {
		args = append(args, "--chain-limit", strconv.Itoa(opts.ChainLimit))
	}
	if opts.MinFeeRate > 0 {
		args = append(args, "--min-fee-rate", strconv.Itoa(opts.MinFeeRate))
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	setParentDeathSignal(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("testnode: start node: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("testnode stderr:\n%s", stderr.String())
		}
	})

	type ready struct {
		URL      string `json:"url"`
		Deployer string `json:"deployer"`
	}
	lines := make(chan ready, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r ready
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.URL != "" {
				lines <- r
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // simnet prints (print ...) events
	}()
	select {
	case r := <-lines:
		n := &Node{URL: r.URL, Deployer: r.Deployer, t: t, http: &http.Client{Timeout: time.Minute}, pid: cmd.Process.Pid}
		return n
	case err := <-exited:
		t.Fatalf("testnode: node exited before it was ready (%v):\n%s", err, stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("testnode: node not ready after %v:\n%s", startTimeout, stderr.String())
	}
	return nil
}

// Contract is the identifier of a contract the deployer deployed.
func (n *Node) Contract(name string) string { return n.Deployer + "." + name }

// Faults are the node's fault switches (POST /control/faults); nil fields are
// left as they are.
type Faults struct {
	// UnavailableNext: the next n broadcasts are answered 503 and never
	// reach the mempool (a request lost on the way: the outcome is unknown
	// to the executor).
	UnavailableNext        *int      `json:"unavailableNext,omitempty"`
	RejectFraction         *float64  `json:"rejectFraction,omitempty"`
	RejectReason           *string   `json:"rejectReason,omitempty"`
	DropFraction           *float64  `json:"dropFraction,omitempty"`
	DelayMs                *int      `json:"delayMs,omitempty"`
	ChainLimit             *int      `json:"chainLimit,omitempty"`
	MinFeeRate             *int      `json:"minFeeRate,omitempty"`
	FeeRates               []float64 `json:"feeRates,omitempty"`
	FeeEstimateUnavailable *bool     `json:"feeEstimateUnavailable,omitempty"`
	BlockIntervalMs        *int      `json:"blockIntervalMs,omitempty"`
	Paused                 *bool     `json:"paused,omitempty"`
	Seed                   *int      `json:"seed,omitempty"`
}

// Ptr returns a pointer to v, for Faults' fields.
func Ptr[T any](v T) *T { return &v }

// SetFaults changes the fault switches.
func (n *Node) SetFaults(f Faults) {
	n.t.Helper()
	n.control("/control/faults", f, nil)
}

// RejectNext makes the next count broadcasts fail with reason (a stacks-node
// rejection reason such as "BadNonce" or "TooMuchChaining") and reasonData.
func (n *Node) RejectNext(count int, reason string, reasonData any) {
	n.t.Helper()
	n.control("/control/faults", map[string]any{"rejectNext": map[string]any{"count": count, "reason": reason, "reasonData": reasonData}}, nil)
}

// Mine mines blocks now and returns the tip height and how many transactions
// they executed.
func (n *Node) Mine(blocks int) (height, mined int) {
	n.t.Helper()
	var out struct{ Height, Mined int }
	n.control("/control/mine", map[string]int{"blocks": blocks}, &out)
	return out.Height, out.Mined
}

// Drop takes a pending transaction out of the mempool with status (a
// dropped_* status; "" for dropped_stale_garbage_collect).
func (n *Node) Drop(txid, status string) {
	n.t.Helper()
	body := map[string]string{"txid": txid}
	if status != "" {
		body["status"] = status
	}
	n.control("/control/drop", body, nil)
}

// Fund mints microSTX to address.
func (n *Node) Fund(address string, microSTX uint64) {
	n.t.Helper()
	n.control("/control/fund", map[string]string{"address": address, "amount": strconv.FormatUint(microSTX, 10)}, nil)
}

// CallResult is the outcome of Call.
type CallResult struct {
	Result Value             `json:"result"`
	Events []json.RawMessage `json:"events"`
}

// Call runs contract.function as sender at once (no transaction, no fee, no
// nonce: a test's setup, such as minting tokens or depositing as an owner).
func (n *Node) Call(contract, function, sender string, args ...stacks.Value) CallResult {
	n.t.Helper()
	hexArgs := make([]string, len(args))
	for i, a := range args {
		hexArgs[i] = "0x" + hex.EncodeToString(stacks.Serialize(a))
	}
	var out CallResult
	n.control("/control/call", map[string]any{"contract": contract, "function": function, "sender": sender, "args": hexArgs}, &out)
	return out
}

// MustCall is Call that fails the test unless the result is (ok ...).
func (n *Node) MustCall(contract, function, sender string, args ...stacks.Value) CallResult {
	n.t.Helper()
	r := n.Call(contract, function, sender, args...)
	if !strings.HasPrefix(r.Result.Repr, "(ok ") {
		n.t.Fatalf("testnode: %s.%s as %s: %s", contract, function, sender, r.Result.Repr)
	}
	return r
}

// ReadOnly calls a read-only function of contract as sender through
// POST /v2/contracts/call-read and returns the result as Clarity.
func (n *Node) ReadOnly(contract, function, sender string, args ...stacks.Value) string {
	n.t.Helper()
	hexArgs := make([]string, len(args))
	for i, a := range args {
		hexArgs[i] = "0x" + hex.EncodeToString(stacks.Serialize(a))
	}
	var out struct {
		Okay   bool   `json:"okay"`
		Result string `json:"result"`
		Cause  any    `json:"cause"`
	}
	n.control("/v2/contracts/call-read/"+strings.Replace(contract, ".", "/", 1)+"/"+function,
		map[string]any{"sender": sender, "arguments": hexArgs}, &out)
	if !out.Okay {
		n.t.Fatalf("testnode: %s.%s: %v", contract, function, out.Cause)
	}
	v, err := stacks.ParseValueHex(out.Result)
	if err != nil {
		n.t.Fatalf("testnode: %s.%s: %v", contract, function, err)
	}
	return stacks.Repr(v)
}

// Balances returns what principal holds: "STX" and "<contract>::<token>" to
// amounts in base units.
func (n *Node) Balances(principal string) map[string]string {
	n.t.Helper()
	out := map[string]string{}
	n.get("/control/balance/"+principal, &out)
	return out
}

// State is GET /control/state.
type State struct {
	Height    int            `json:"height"`
	BlockTime int64          `json:"blockTime"`
	Mempool   int            `json:"mempool"`
	Counters  map[string]int `json:"counters"`
	// RejectedBy counts refused broadcasts by rejection reason.
	RejectedBy map[string]int `json:"rejectedBy"`
}

// State returns the tip, the mempool size and the node's counters.
func (n *Node) State() State {
	n.t.Helper()
	var s State
	n.get("/control/state", &s)
	return s
}

// Broadcast posts raw transaction bytes as an executor does and returns the
// status and the body.
func (n *Node) Broadcast(raw []byte) (int, []byte) {
	n.t.Helper()
	resp, err := n.http.Post(n.URL+"/v2/transactions", "application/octet-stream", bytes.NewReader(raw))
	if err != nil {
		n.t.Fatalf("testnode: broadcast: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Tx is the part of GET /extended/v1/tx/{txid} that tests look at.
type Tx struct {
	TxID                 string `json:"tx_id"`
	Status               string `json:"tx_status"`
	Nonce                uint64 `json:"nonce"`
	FeeRate              string `json:"fee_rate"`
	Sender               string `json:"sender_address"`
	BlockHeight          int    `json:"block_height"`
	TxType               string `json:"tx_type"`
	TxResult             Value  `json:"tx_result"`
	PostConditionFailure string `json:"post_condition_failure"`
	ContractCall         *struct {
		ContractID   string  `json:"contract_id"`
		FunctionName string  `json:"function_name"`
		FunctionArgs []Value `json:"function_args"`
	} `json:"contract_call"`
	TokenTransfer *struct {
		Recipient string `json:"recipient_address"`
		Amount    string `json:"amount"`
	} `json:"token_transfer"`
}

// Txs returns every transaction of sender the node accepted (pending,
// mined or dropped), by nonce then arrival.
func (n *Node) Txs(sender string) []Tx {
	n.t.Helper()
	var out []Tx
	n.get("/control/txs/"+sender, &out)
	return out
}

// Value is a Clarity value as the API shows it.
type Value struct {
	Hex  string `json:"hex"`
	Repr string `json:"repr"`
}

// TxStatus returns the transaction's record, or ok false on 404.
func (n *Node) TxStatus(txid string) (Tx, bool) {
	n.t.Helper()
	resp, err := n.http.Get(n.URL + "/extended/v1/tx/" + txid)
	if err != nil {
		n.t.Fatalf("testnode: tx status: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return Tx{}, false
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("testnode: tx status %d: %s", resp.StatusCode, b)
	}
	var tx Tx
	if err := json.Unmarshal(b, &tx); err != nil {
		n.t.Fatalf("testnode: tx status: %v: %s", err, b)
	}
	return tx, true
}

// WaitTx polls the transaction until its status is no longer pending, for
// nodes that mine on their own.
func (n *Node) WaitTx(txid string, timeout time.Duration) Tx {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		tx, ok := n.TxStatus(txid)
		if ok && tx.Status != "pending" {
			return tx
		}
		select {
		case <-ctx.Done():
			n.t.Fatalf("testnode: %s still %q after %v", txid, tx.Status, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (n *Node) control(path string, body, out any) {
	n.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		n.t.Fatal(err)
	}
	resp, err := n.http.Post(n.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		n.t.Fatalf("testnode: POST %s: %v", path, err)
	}
	n.decode("POST "+path, resp, out)
}

func (n *Node) get(path string, out any) {
	n.t.Helper()
	resp, err := n.http.Get(n.URL + path)
	if err != nil {
		n.t.Fatalf("testnode: GET %s: %v", path, err)
	}
	n.decode("GET "+path, resp, out)
}

func (n *Node) decode(what string, resp *http.Response, out any) {
	n.t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("testnode: %s: %d %s", what, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			n.t.Fatalf("testnode: %s: %v: %s", what, err, b)
		}
	}
}
