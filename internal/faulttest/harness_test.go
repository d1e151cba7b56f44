package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/syncbuf"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Fixed test wallet (shared/vectors: the stacks.js doc key) and tokens.
const (
	privA = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"
	sbtc  = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
	wstx  = "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx"

	// errStoreDown is errors.go's answer when PostgreSQL is unreachable.
	errStoreDown = "Service unavailable: a backing store is unreachable"
	// errLimiterDown is the answer of a fail-closed route while Redis is down.
	errLimiterDown = "Service unavailable: rate limiter unreachable"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level fault test: skipped with -short")
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a child process the test started; t.Cleanup kills it if the test did not stop it.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
	err  error
}

func startProc(t testing.TB, name, bin string, args []string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("%s: the race detector reported a race:\n%s", name, tail(p.out.String(), 8000))
		}
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s", p.name, d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// gatewayEnv is the environment of a gateway on a fresh database and Redis
// prefix: limits high enough that only the fault decides, and maintenance
// fast enough that reconciliation happens within a test.
func gatewayEnv(t testing.TB) map[string]string {
	t.Helper()
	_, prefix := testenv.Redis(t)
	return map[string]string{
		"DATABASE_URL":                 testenv.PostgresDSN(t),
		"REDIS_URL":                    testenv.RedisURL(t),
		"STXGATE_REDIS_PREFIX":         prefix,
		"STXGATE_RATE_LIMIT_MINUTE":    "1000000",
		"STXGATE_RATE_LIMIT_HOUR":      "1000000",
		"STXGATE_RATE_LIMIT_DAY":       "1000000",
		"STXGATE_IP_LIMIT_MINUTE":      "1000000",
		"STXGATE_WALLET_LIMIT_MINUTE":  "1000000",
		"STXGATE_PUBLIC_LIMIT_MINUTE":  "1000000",
		"STXGATE_RECONCILE_AFTER":      "1s",
		"STXGATE_MAINTENANCE_INTERVAL": "200ms",
		"STXGATE_USAGE_FLUSH_INTERVAL": "200ms",
		"STXGATE_LOG_LEVEL":            "info",
	}
}

// gateway is a running stxgate process.
type gateway struct {
	*proc
	url string
	env map[string]string
}

// startGateway runs the binary with env on a free port and waits for /readyz.
func startGateway(t testing.TB, name string, env map[string]string) *gateway {
	t.Helper()
	if env["STXGATE_LISTEN"] != "" {
		g := startGatewayOn(t, name, env)
		if g == nil {
			t.Fatalf("%s: %s is in use", name, env["STXGATE_LISTEN"])
		}
		return g
	}
	// A free port can be taken by another process before the gateway binds
	// it: then try another one.
	for attempt := 1; ; attempt++ {
		e := maps.Clone(env)
		e["STXGATE_LISTEN"] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		g := startGatewayOn(t, name, e)
		if g != nil || attempt == 3 {
			if g == nil {
				t.Fatalf("%s: no free port after 3 attempts", name)
			}
			return g
		}
	}
}

// startGatewayOn starts the gateway on env's STXGATE_LISTEN; nil if that
// address was in use.
func startGatewayOn(t testing.TB, name string, env map[string]string) *gateway {
	t.Helper()
	env = maps.Clone(env)
	if _, ok := env["STXGATE_METRICS_LISTEN"]; !ok {
		env["STXGATE_METRICS_LISTEN"] = "off" // parallel gateways would race for the default port
	}
	// The child sees only what the test gives it (plus PATH/HOME/GORACE),
	// never this process's DATABASE_URL or STXGATE_* settings.
	var list []string
	for _, k := range []string{"PATH", "HOME", "GORACE", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			list = append(list, k+"="+v)
		}
	}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	g := &gateway{proc: startProc(t, name, gatewayBinary(t), nil, list), url: "http://" + env["STXGATE_LISTEN"], env: env}
	if !g.waitReady(t, 60*time.Second) {
		return nil
	}
	return g
}

// waitReady waits for /readyz 200; false if the listen address was in use.
func (g *gateway) waitReady(t testing.TB, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			if strings.Contains(g.out.String(), "address already in use") {
				return false
			}
			t.Fatalf("%s exited before it was ready:\n%s", g.name, tail(g.out.String(), 4000))
		default:
		}
		resp, err := c.Get(g.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s:\n%s", g.name, d, tail(g.out.String(), 4000))
	return false
}

// result is one request's outcome as the load client saw it.
type result struct {
	Status     int // 0: no answer (transport error)
	Body       string
	Header     http.Header
	Err        error
	Start, End time.Time
}

// recovered repeats call every 20 ms until ok accepts its answer and
// returns how long after since (when the fault ended) that was; the test
// fails when it takes more than 15 s, what naming what did not come back.
func recovered(t testing.TB, since time.Time, what string, call func() result, ok func(result) bool) time.Duration {
	t.Helper()
	for {
		r := call()
		if ok(r) {
			return time.Since(since)
		}
		if time.Since(since) > 15*time.Second {
			t.Fatalf("%s not within 15s: %s", what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// is200 is a recovered check: the request succeeded.
func is200(r result) bool { return r.Status == http.StatusOK }

// httpClient is the load client: bounded timeouts, keep-alive unless noKeepAlive.
func httpClient(noKeepAlive bool) *http.Client {
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives:   noKeepAlive,
			MaxIdleConnsPerHost: 64,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
	}
}

func do(c *http.Client, method, url, body string, headers map[string]string) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return result{Err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	r := result{Start: time.Now()}
	resp, err := c.Do(req)
	if err != nil {
		r.Err, r.End = err, time.Now()
		return r
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.End = time.Now()
	if err != nil {
		r.Err = fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)
		return r
	}
	r.Status, r.Body, r.Header = resp.StatusCode, string(b), resp.Header
	return r
}

// errorText is the "error" of an error body ("" if there is none).
func (r result) errorText() string {
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(r.Body), &b)
	return b.Error
}

func (r result) String() string {
	if r.Err != nil {
		return "transport error: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(tail(r.Body, 300)))
}

// counts are a tally's figures for one label.
type counts struct {
	Sent, S2xx, S4xx, S503, S500, Other5xx, Transport int
	MaxLatency                                        time.Duration
}

func (c counts) String() string {
	return fmt.Sprintf("sent=%d 2xx=%d 4xx=%d 503=%d 500=%d other5xx=%d transport=%d max=%s",
		c.Sent, c.S2xx, c.S4xx, c.S503, c.S500, c.Other5xx, c.Transport, c.MaxLatency.Round(time.Millisecond))
}

// tally counts results per label (phase/route/instance).
type tally struct {
	mu sync.Mutex
	m  map[string]*counts
}

func newTally() *tally { return &tally{m: map[string]*counts{}} }

func (t *tally) add(label string, r result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[label]
	if c == nil {
		c = &counts{}
		t.m[label] = c
	}
	c.Sent++
	c.MaxLatency = max(c.MaxLatency, r.End.Sub(r.Start))
	switch {
	case r.Err != nil:
		c.Transport++
	case r.Status >= 200 && r.Status < 300:
		c.S2xx++
	case r.Status >= 400 && r.Status < 500:
		c.S4xx++
	case r.Status == 503:
		c.S503++
	case r.Status == 500:
		c.S500++
	default:
		c.Other5xx++
	}
}

func (t *tally) get(label string) counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.m[label]; c != nil {
		return *c
	}
	return counts{}
}

// total sums every label.
func (t *tally) total() counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s counts
	for _, c := range t.m {
		s.Sent += c.Sent
		s.S2xx += c.S2xx
		s.S4xx += c.S4xx
		s.S503 += c.S503
		s.S500 += c.S500
		s.Other5xx += c.Other5xx
		s.Transport += c.Transport
		s.MaxLatency = max(s.MaxLatency, c.MaxLatency)
	}
	return s
}

// log prints the figures, one label a line, sorted.
func (t *tally) log(tb testing.TB, title string) {
	tb.Helper()
	t.mu.Lock()
	labels := make([]string, 0, len(t.m))
	for l := range t.m {
		labels = append(labels, l)
	}
	t.mu.Unlock()
	sort.Strings(labels)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", title)
	for _, l := range labels {
		fmt.Fprintf(&b, "  %-40s %s\n", l, t.get(l))
	}
	fmt.Fprintf(&b, "  %-40s %s", "TOTAL", t.total())
	tb.Log(b.String())
}

// wallet signs messages and orders with a private key.
type wallet struct {
	key  *stacks.PrivateKey
	addr string
}

func mustWallet(t testing.TB, hexKey string) wallet {
	t.Helper()
	k := testgateway.Key(t, hexKey)
	return wallet{key: k, addr: k.Address(stacks.Mainnet).String()}
}

// envelope is a wallet-signed body {message, signature, walletAddress}.
func (w wallet) envelope(msg string) string {
	sig, err := stacks.SignMessage(w.key, []byte(msg))
	if err != nil {
		panic(err) // the test wallets' keys are valid
	}
	b, _ := json.Marshal(map[string]string{"message": msg, "signature": sig, "walletAddress": w.addr})
	return string(b)
}

// orderBody is a create body for uuid, valid from a minute ago for an hour,
// signed under the default SIP-018 domain.
func (w wallet) orderBody(t testing.TB, uuid string) string {
	t.Helper()
	from, to := time.Now().Add(-time.Minute).Truncate(time.Second), time.Now().Add(time.Hour).Truncate(time.Second)
	o := ordersig.Order{Owner: w.addr, InputToken: sbtc, OutputToken: wstx, AmountIn: "1000000", TargetPrice: "0.30",
		Direction: "gt", ConditionToken: sbtc, Recipient: w.addr, UUID: uuid, ValidFrom: from.Unix(), ValidTo: to.Unix()}
	sig, err := ordersig.Sign(w.key, o, stacks.NewDomain("stxgate", "1", stacks.Mainnet))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"owner": o.Owner, "inputToken": o.InputToken, "outputToken": o.OutputToken, "amountIn": o.AmountIn,
		"targetPrice": o.TargetPrice, "direction": o.Direction, "conditionToken": o.ConditionToken, "recipient": o.Recipient,
		"uuid": uuid, "validFrom": from.UTC().Format(time.RFC3339), "validTo": to.UTC().Format(time.RFC3339), "signature": sig,
	})
	return string(b)
}

// phases names the phase a fault test's load runs in ("1 up", "2 down", …)
// and keeps the first problems its clients report.
type phases struct {
	now      atomic.Value // string
	mu       sync.Mutex
	problems []string
}

func newPhases(first string) *phases {
	p := &phases{}
	p.now.Store(first)
	return p
}

func (p *phases) set(name string) { p.now.Store(name) }
func (p *phases) get() string     { return p.now.Load().(string) }

// span is the phase of a request that started in start: start, or
// "start → end" when the phase moved while it ran.
func (p *phases) span(start string) string {
	if end := p.get(); end != start {
		return start + " → " + end
	}
	return start
}

// fail records a problem (the first 20 are kept).
func (p *phases) fail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) < 20 {
		p.problems = append(p.problems, fmt.Sprintf(format, args...))
	}
}

// report fails t with every problem recorded.
func (p *phases) report(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, msg := range p.problems {
		t.Error(msg)
	}
}

// relayedEnv points env's gateway at rel, each settlement attempt bounded by
// attempt, and sets STXGATE_RECONCILE_AFTER to one Settle's worst case (3
// attempts and 2 backoffs of 2s): the shortest the gateway accepts.
func relayedEnv(env map[string]string, rel *relayer, attempt time.Duration) {
	env["STXGATE_RELAYER_URL"] = rel.url
	env["STXGATE_RELAYER_TIMEOUT"] = attempt.String()
	env["STXGATE_RECONCILE_AFTER"] = (3*attempt + 2*2*time.Second).String()
}

// proxiedPostgres routes env's gateway to PostgreSQL through a proxy the
// test can cut or stall; it returns the proxy and the direct DSN (for the
// test's own reads).
func proxiedPostgres(t testing.TB, env map[string]string) (*tcpProxy, string) {
	t.Helper()
	direct := env["DATABASE_URL"]
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	env["DATABASE_URL"] = u.String()
	return p, direct
}

// keyedGateway starts a gateway on env and gives it a wallet (privA) and a key of it.
func keyedGateway(t testing.TB, name string, env map[string]string) (*gateway, wallet, string) {
	t.Helper()
	g := startGateway(t, name, env)
	w := mustWallet(t, privA)
	return g, w, createKey(t, g, w)
}

// createKey makes a key with every permission for w on g.
func createKey(t testing.TB, g *gateway, w wallet) string {
	t.Helper()
	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"fault","permissions":["create","execute","cancel"],"timestamp":%d}`,
		time.Now().UnixMilli())
	r := do(httpClient(false), "POST", g.url+"/api/v1/api-keys", w.envelope(msg), nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %s", r)
	}
	var out struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.APIKey == "" {
		t.Fatalf("create key: %s", r.Body)
	}
	return out.APIKey
}

// createOrders creates n open orders uuidPrefix-0.. with key (4 at a time).
func createOrders(t testing.TB, g *gateway, w wallet, key, uuidPrefix string, n int) []string {
	t.Helper()
	uuids := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	c := httpClient(false)
	var wg sync.WaitGroup
	for i := range uuids {
		uuids[i] = fmt.Sprintf("%s-%d", uuidPrefix, i)
		wg.Add(1)
		sem <- struct{}{}
		go func(uuid string) {
			defer wg.Done()
			defer func() { <-sem }()
			r := do(c, "POST", g.url+"/api/v1/orders/new", w.orderBody(t, uuid), map[string]string{"X-API-Key": key})
			if r.Status != http.StatusCreated {
				errs <- fmt.Errorf("create %s: %s", uuid, r)
			}
		}(uuids[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return uuids
}

// relayer is a settlement relayer in the test process: idempotent by
// Idempotency-Key, it counts the distinct settlements (txids) it made per
// order uuid of the request body — the source of truth for "settled twice".
type relayer struct {
	url string

	mu      sync.Mutex
	byKey   map[string]string          // Idempotency-Key → txid
	txids   map[string]map[string]bool // body uuid → txids made for it
	calls   map[string]int             // body uuid → requests
	keys    map[string]map[string]bool // body uuid → Idempotency-Keys seen
	behave  func(uuid string, call int) reply
	counter int
}

// reply is how the relayer answers one request. It settles (or finds the
// settlement of the key) unless Reject or NoSettle, then waits Delay, then
// answers Status (200 with the txid when 0).
type reply struct {
	Status   int
	Delay    time.Duration
	Reject   bool // 422: refused, nothing settled
	NoSettle bool // fail before acting (e.g. 503 from a proxy in front)
	// WaitFor, when set, holds the answer (after settling) until it closes
	// (at most 10 s); Then runs once the answer is written.
	WaitFor <-chan struct{}
	Then    func()
}

func newRelayer(t testing.TB, behave func(uuid string, call int) reply) *relayer {
	t.Helper()
	r := &relayer{byKey: map[string]string{}, txids: map[string]map[string]bool{}, calls: map[string]int{},
		keys: map[string]map[string]bool{}, behave: behave}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + ln.Addr().String() + "/settle"
	return r
}

func (r *relayer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		UUID      string `json:"uuid"`
		Signature string `json:"signature"`
	}
	key := req.Header.Get("Idempotency-Key")
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.UUID == "" || key == "" || body.Signature == "" {
		http.Error(w, `{"error":"bad settlement request"}`, http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	call := r.calls[body.UUID]
	r.calls[body.UUID]++
	if r.keys[body.UUID] == nil {
		r.keys[body.UUID] = map[string]bool{}
	}
	r.keys[body.UUID][key] = true
	rep := reply{}
	if r.behave != nil {
		rep = r.behave(body.UUID, call)
	}
	txid := ""
	if !rep.Reject && !rep.NoSettle {
		if txid = r.byKey[key]; txid == "" {
			r.counter++
			txid = fmt.Sprintf("0x%064x", r.counter)
			r.byKey[key] = txid
			if r.txids[body.UUID] == nil {
				r.txids[body.UUID] = map[string]bool{}
			}
			r.txids[body.UUID][txid] = true
		}
	}
	r.mu.Unlock()
	if rep.Delay > 0 {
		// The settlement above stands even if the gateway gives up waiting.
		select {
		case <-time.After(rep.Delay):
		case <-req.Context().Done():
			return
		}
	}
	if rep.WaitFor != nil {
		select {
		case <-rep.WaitFor:
		case <-time.After(10 * time.Second):
		case <-req.Context().Done():
			return
		}
	}
	if rep.Then != nil {
		defer rep.Then()
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case rep.Reject:
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":"order refused by the relayer"}`)
	case rep.Status != 0 && rep.Status != http.StatusOK:
		w.WriteHeader(rep.Status)
		_, _ = io.WriteString(w, `{"error":"relayer trouble"}`)
	default:
		_, _ = fmt.Fprintf(w, `{"txid":%q}`, txid)
	}
}

// settlements is how many distinct settlements the relayer made for uuid.
func (r *relayer) settlements(uuid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.txids[uuid])
}

// txid is the one txid of uuid ("" if none).
func (r *relayer) txid(uuid string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for tx := range r.txids[uuid] {
		return tx
	}
	return ""
}

func (r *relayer) callCount(uuid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[uuid]
}

// settledUUIDs lists every uuid the relayer settled.
func (r *relayer) settledUUIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for u, s := range r.txids {
		if len(s) > 0 {
			out = append(out, u)
		}
	}
	return out
}

// orderRow is an order as PostgreSQL holds it.
type orderRow struct {
	UUID, Status, TxID, Settlement string
	Attempts                       int
}

// dbConn is a connection of the test's own to PostgreSQL (not through any
// proxy) with a context bounding its use; closeConn ends both.
func dbConn(t testing.TB, dsn string) (ctx context.Context, conn *pgx.Conn, closeConn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return ctx, conn, func() { conn.Close(ctx); cancel() }
}

// ordersInDB reads every order straight from PostgreSQL.
func ordersInDB(t testing.TB, dsn string) map[string]orderRow {
	t.Helper()
	ctx, conn, closeConn := dbConn(t, dsn)
	defer closeConn()
	rows, err := conn.Query(ctx, `SELECT uuid, status, COALESCE(txid, ''), COALESCE(settlement, ''), attempts FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]orderRow{}
	for rows.Next() {
		var o orderRow
		if err := rows.Scan(&o.UUID, &o.Status, &o.TxID, &o.Settlement, &o.Attempts); err != nil {
			t.Fatal(err)
		}
		out[o.UUID] = o
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitNoExecuting waits (bounded) until reconciliation has finished every
// interrupted execution.
func waitNoExecuting(t testing.TB, dsn string, d time.Duration) map[string]orderRow {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		rows := ordersInDB(t, dsn)
		executing := 0
		for _, o := range rows {
			if o.Status == "executing" {
				executing++
			}
		}
		if executing == 0 {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orders still executing after %s", executing, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stateCounts is "open=n filled=n …" for a log line.
func stateCounts(rows map[string]orderRow) map[string]int {
	m := map[string]int{}
	for _, o := range rows {
		m[o.Status]++
	}
	return m
}

// checkSettledOnce asserts, for every order of rows: a known state among
// allowed, filled ⇔ the relayer settled it, a filled order's txid is the
// relayer's one txid, and no order was settled more than once.
func checkSettledOnce(t testing.TB, rows map[string]orderRow, rel *relayer, allowed ...string) {
	t.Helper()
	ok := map[string]bool{}
	for _, s := range allowed {
		ok[s] = true
	}
	for _, o := range rows {
		n := rel.settlements(o.UUID)
		switch {
		case !ok[o.Status]:
			t.Errorf("order %s ended %s, want one of %v", o.UUID, o.Status, allowed)
		case n > 1:
			t.Errorf("order %s settled %d times", o.UUID, n)
		case o.Status == "filled" && (n != 1 || o.TxID != rel.txid(o.UUID)):
			t.Errorf("order %s filled with txid %s, relayer settled %d time(s) as %s", o.UUID, o.TxID, n, rel.txid(o.UUID))
		case o.Status != "filled" && n != 0:
			t.Errorf("order %s is %s but the relayer settled it (%s)", o.UUID, o.Status, rel.txid(o.UUID))
		}
	}
	for _, u := range rel.settledUUIDs() {
		if _, found := rows[u]; !found {
			t.Errorf("the relayer settled %s, which the database does not hold", u)
		}
	}
}

// startLoad runs one load worker a goroutine: newWorker(i) sets worker i up
// and returns its step, called with n = 0, 1, … until the returned stop is
// called (which waits for every worker) or 30 s (a bound) have passed.
func startLoad(workers int, newWorker func(i int) func(n int)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		step := newWorker(i)
		wg.Go(func() {
			deadline := time.Now().Add(30 * time.Second) // bound
			for n := 0; time.Now().Before(deadline); n++ {
				select {
				case <-done:
					return
				default:
				}
				step(n)
			}
		})
	}
	return func() { close(done); wg.Wait() }
}
