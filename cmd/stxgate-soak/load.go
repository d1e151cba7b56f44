package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

//go:embed soak.lua
var luaScript []byte

// lookWrk finds wrk or says how to get it.
func lookWrk(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: install Debian's wrk (apt-get install wrk; make soak does)", name)
	}
	return p, nil
}

// wrkResult is the summary line soak.lua prints.
type wrkResult struct {
	Requests      int64 `json:"requests"`
	DurationUs    int64 `json:"durationUs"`
	P50Us         int64 `json:"p50Us"`
	P99Us         int64 `json:"p99Us"`
	MaxUs         int64 `json:"maxUs"`
	StatusErrors  int64 `json:"statusErrors"` // answers other than 2xx/3xx
	ConnectErrors int64 `json:"connectErrors"`
	ReadErrors    int64 `json:"readErrors"`
	WriteErrors   int64 `json:"writeErrors"`
	Timeouts      int64 `json:"timeouts"`
}

func (w wrkResult) rate() float64 {
	if w.DurationUs <= 0 {
		return 0
	}
	return float64(w.Requests) / (float64(w.DurationUs) / 1e6)
}

const resultMarker = "SOAK-RESULT "

// parseWrk finds soak.lua's summary in wrk's output.
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	for _, line := range strings.Split(out, "\n") {
		if js, ok := strings.CutPrefix(strings.TrimSpace(line), resultMarker); ok {
			err := json.Unmarshal([]byte(js), &res)
			return res, err
		}
	}
	return res, errors.New("no summary line in wrk's output")
}

// delayFor is soak.lua's per-connection pause (ms) for about rate req/s over
// conns connections; 0 runs unpaced.
func delayFor(rate float64, conns int) int {
	if rate <= 0 {
		return 0
	}
	return max(1, int(math.Round(float64(conns)*1000/rate)))
}

// wrk runs one chunk of ph for d at rate (0: as fast as it goes).
func (r *runner) wrk(ctx context.Context, ph phase, d time.Duration, rate float64) (wrkResult, error) {
	sources, err := r.requests(ctx, ph, d, rate)
	if err != nil {
		return wrkResult{}, err
	}
	args := []string{"-t1", "-c" + strconv.Itoa(r.s.conns), "-d" + strconv.Itoa(int(d/time.Second)) + "s",
		"--timeout", "10s", "-s", filepath.Join(r.Dir, "soak.lua"), "http://" + r.gw.Addr,
		"--", strconv.Itoa(delayFor(rate, r.s.conns))}
	args = append(args, sources...)
	cmd := exec.CommandContext(ctx, r.s.wrk, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", ph, err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", ph, err, out)
	}
	return res, nil
}

// Request rates assumed when sizing the unique requests of an unpaced
// (warm-up) chunk: well above what two cores answer, so no order is asked
// twice; a paced chunk needs its rate plus a margin.
var assumedMax = map[phase]float64{phaseKeyed: 40000, phaseSigned: 20000, phaseCreate: 4000, phaseExecute: 5000, phaseMixed: 15000}

// requests writes the request files of a chunk and returns soak.lua's
// "weight=path" arguments.
func (r *runner) requests(ctx context.Context, ph phase, d time.Duration, rate float64) ([]string, error) {
	warmUp := rate <= 0
	if warmUp {
		rate = assumedMax[ph]
	}
	need := func(share float64) int { return int(rate*share*d.Seconds()*1.3) + 2*r.s.conns + 16 }
	build := func(kind phase, share float64) (string, error) {
		var lines []string
		var err error
		switch kind {
		case phaseKeyed:
			lines = r.keyedLines()
		case phaseSigned:
			lines, err = r.signedLines(ctx, r.signaturesPerWallet(ph, warmUp))
		case phaseCreate:
			lines, err = r.orders.createLines(need(share))
		case phaseExecute:
			lines, err = r.orders.executeLines(ctx, need(share))
		}
		if err != nil {
			return "", err
		}
		path := filepath.Join(r.Dir, string(kind)+".req")
		return path, writeLines(path, lines)
	}
	if ph != phaseMixed {
		path, err := build(ph, 1)
		if err != nil {
			return nil, err
		}
		return []string{"1=" + path}, nil
	}
	var out []string
	for _, kind := range []phase{phaseKeyed, phaseSigned, phaseCreate, phaseExecute} {
		w := mixWeights[kind]
		path, err := build(kind, float64(w)/100)
		if err != nil {
			return nil, err
		}
		out = append(out, strconv.Itoa(w)+"="+path)
	}
	return out, nil
}

func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// requestLine is one line of a request file (soak.lua's format).
func requestLine(method, path string, headers []string, body string) string {
	return method + "\t" + path + "\t" + strings.Join(headers, "\x01") + "\t" + body
}

// keyedLines: GET /self with every key in turn.
func (r *runner) keyedLines() []string {
	var lines []string
	for _, w := range r.wallets {
		for _, k := range w.keys {
			lines = append(lines, requestLine("GET", "/api/v1/api-keys/self", []string{"X-API-Key: " + k}, ""))
		}
	}
	return lines
}

// signaturesPerWallet is how many distinct list signatures each wallet uses
// in a chunk: many, so the gateway's cache of verified read messages sees
// churn. The signed warm-up uses enough to fill that cache to its bound
// (walletauth.VerifiedCacheSize, ~1 KB an entry with its parsed message):
// otherwise a short soak sees the cache still filling (a few hundred
// entries a chunk) and reads the bounded fill as growth.
func (r *runner) signaturesPerWallet(ph phase, warmUp bool) int {
	if ph == phaseSigned && warmUp {
		return max(32, (walletauth.VerifiedCacheSize*5/4+len(r.wallets)-1)/len(r.wallets))
	}
	return 32
}

// signedLines: GET /api/v1/api-keys, signed now (list_api_keys is a read, so
// a signature may be used again inside its window), perWallet distinct
// messages of each wallet.
func (r *runner) signedLines(ctx context.Context, perWallet int) ([]string, error) {
	now := time.Now()
	var lines []string
	for _, w := range r.wallets {
		for i := range perWallet {
			env, err := client.SignEnvelope(ctx, client.PrivateKeySigner{Key: w.key}, stacks.Mainnet, "list_api_keys", nil,
				now.Add(time.Duration(i)*time.Millisecond))
			if err != nil {
				return nil, err
			}
			var hs []string
			for k, v := range env.Headers() {
				hs = append(hs, k+": "+v)
			}
			lines = append(lines, requestLine("GET", "/api/v1/api-keys", hs, ""))
		}
	}
	return lines, nil
}

// orderSource makes orders: signed create bodies, and open orders copied into
// the database for execute (a fresh one per request).
type orderSource struct {
	db      *pgxpool.Pool
	wallets []*wallet
	domain  stacks.Domain
	next    int // round-robin over wallets
	oneSig  map[string]string
}

func newOrderSource(db *pgxpool.Pool, ws []*wallet) *orderSource {
	return &orderSource{db: db, wallets: ws, domain: stacks.NewDomain("stxgate", "1", stacks.Mainnet), oneSig: map[string]string{}}
}

// pick returns the wallet of the i-th order of a batch and one of its keys.
func (o *orderSource) pick(i int) (*wallet, string) {
	w := o.wallets[(o.next+i)%len(o.wallets)]
	return w, w.keys[(i/len(o.wallets))%len(w.keys)]
}

// createLines signs n new orders (on every core) as POST /orders/new lines.
func (o *orderSource) createLines(n int) ([]string, error) {
	now := time.Now()
	lines := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for wk := range workers {
		wg.Go(func() {
			for i := wk; i < n; i += workers {
				w, key := o.pick(i)
				ord := loadkit.Order(w.addr, uuid.NewString(), now.Add(-time.Minute), now.Add(time.Hour))
				sig, err := ordersig.Sign(w.key, ord, o.domain)
				if err != nil {
					errs[i] = err
					return
				}
				body, err := json.Marshal(ordersig.NewSignedOrder(ord, sig))
				if err != nil {
					errs[i] = err
					return
				}
				lines[i] = requestLine("POST", "/api/v1/orders/new",
					[]string{"X-API-Key: " + key, "Content-Type: application/json"}, string(body))
			}
		})
	}
	wg.Wait()
	o.next += n
	return lines, errors.Join(errs...)
}

// executeLines copies n open orders into the database, as the order service
// stores an API-created one, and returns their execute lines. Execution does
// not verify the signature again, so each wallet's orders share one real one.
func (o *orderSource) executeLines(ctx context.Context, n int) ([]string, error) {
	now := time.Now()
	ords := make([]ordersig.Order, n)
	lines := make([]string, n)
	for i := range n {
		w, key := o.pick(i)
		ords[i] = loadkit.Order(w.addr, uuid.NewString(), now.Add(-time.Minute), now.Add(time.Hour))
		if _, ok := o.oneSig[w.addr]; !ok {
			s, err := ordersig.Sign(w.key, ords[i], o.domain)
			if err != nil {
				return nil, err
			}
			o.oneSig[w.addr] = s
		}
		lines[i] = requestLine("POST", "/api/v1/orders/"+ords[i].UUID+"/execute", []string{"X-API-Key: " + key}, "")
	}
	o.next += n
	err := loadkit.CopyOpenOrders(ctx, o.db, n, func(i int) (ordersig.Order, string, string) {
		return ords[i], o.oneSig[ords[i].Owner], "wallet:" + ords[i].Owner
	})
	if err != nil {
		return nil, err
	}
	return lines, nil
}
