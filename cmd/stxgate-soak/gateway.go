package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const soakDB = "stxgate_soak"

// runner is one soak run: what it created, the gateway it drives, and the
// samples it took.
type runner struct {
	*loadkit.Scratch // Dir holds the wrk script and request files

	s       settings
	db      *pgxpool.Pool // the soak database, for orders
	gw      *gateway
	wallets []*wallet
	orders  *orderSource

	samples  []sample
	verdicts []sample // the end of every round (after its mixed phase)
	capacity map[phase]float64
}

// wallet is a soak wallet with the keys it created through the API.
type wallet struct {
	key  *stacks.PrivateKey
	addr string
	keys []string // secrets
}

const (
	walletCount   = 8
	keysPerWallet = 4
	// Limits of the soak keys, wallets and IPs: high, so every request is
	// admitted (the limiter still runs in full on each).
	highLimit = 10_000_000
)

func setup(ctx context.Context, s settings) (*runner, error) {
	r := &runner{s: s, capacity: map[phase]float64{}}
	var err error
	if r.Scratch, err = loadkit.NewScratch(ctx, "stxgate-soak", s.dbURL, s.redisURL, "stxgate-soak:"+loadkit.RandomHex(6)+":"); err != nil {
		return r, err
	}
	if err := os.WriteFile(r.Dir+"/soak.lua", luaScript, 0o644); err != nil {
		return r, err
	}
	dsn, err := r.CreateDatabase(ctx, soakDB)
	if err != nil {
		return r, err
	}
	if r.gw, err = startGateway(ctx, s, dsn, r.Prefix); err != nil {
		return r, err
	}
	loadkit.Logf("gateway pid %d on %s (metrics on %s), database %s, Redis prefix %s", r.gw.Pid(), r.gw.Addr, r.gw.metricsAddr, soakDB, r.Prefix)
	if r.db, err = pgxpool.New(ctx, dsn); err != nil { // after the gateway migrated the schema
		return r, err
	}
	if r.wallets, err = createWallets(ctx, r.gw.Addr); err != nil {
		return r, err
	}
	r.orders = newOrderSource(r.db, r.wallets)
	return r, nil
}

// teardown stops the gateway and removes the database and Redis keys the run
// made. It runs after a failure or an interrupt too.
func (r *runner) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r.gw != nil {
		r.gw.Stop()
	}
	if r.db != nil {
		r.db.Close()
	}
	r.Remove(ctx, loadkit.Logf)
}

// createWallets makes the wallets and their keys through the API
// (loadkit.CreateKeys).
func createWallets(ctx context.Context, addr string) ([]*wallet, error) {
	ws := make([]*wallet, walletCount)
	for i := range ws {
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		w := &wallet{key: k, addr: k.Address(stacks.Mainnet).String()}
		created, err := loadkit.CreateKeys(ctx, addr, k, keysPerWallet, func(j int) string { return fmt.Sprintf("soak %d.%d", i, j) })
		if err != nil {
			return nil, err
		}
		for _, c := range created {
			w.keys = append(w.keys, c.APIKey)
		}
		ws[i] = w
	}
	return ws, nil
}

// gateway is the gateway process, its log read as it is written.
type gateway struct {
	*loadkit.Process
	metricsAddr string
	log         *logWatch
}

// startGateway runs the binary with exactly env (loadkit.Command) on free
// loopback ports, at the default log level, and waits for /healthz.
func startGateway(ctx context.Context, s settings, dsn, prefix string) (*gateway, error) {
	addr, err := loadkit.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := loadkit.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	lim := strconv.Itoa(highLimit)
	cmd := loadkit.Command(s.gateway, nil, []string{
		"DATABASE_URL=" + dsn, "REDIS_URL=" + s.redisURL, "STXGATE_REDIS_PREFIX=" + prefix,
		"STXGATE_LISTEN=" + addr, "STXGATE_METRICS_LISTEN=" + metricsAddr,
		"STXGATE_RATE_LIMIT_MINUTE=" + lim, "STXGATE_RATE_LIMIT_HOUR=" + lim, "STXGATE_RATE_LIMIT_DAY=" + lim,
		"STXGATE_IP_LIMIT_MINUTE=" + lim, "STXGATE_WALLET_LIMIT_MINUTE=" + lim, "STXGATE_PUBLIC_LIMIT_MINUTE=" + lim,
		// Go's default pacing: a collection every few MB keeps the live heap
		// sampled after every chunk (the default 64 MiB headroom collects
		// a few times a minute, so "live after the last GC" would be stale).
		"STXGATE_GC_HEADROOM_MB=0",
	})
	g := &gateway{metricsAddr: metricsAddr, log: &logWatch{}}
	cmd.Stdout, cmd.Stderr = g.log, g.log // one stream, in order
	if g.Process, err = loadkit.Start(ctx, "gateway", addr, cmd, func() bool { return loadkit.Healthy(addr) }, g.log.tail); err != nil {
		return nil, err
	}
	return g, nil
}

// logWatch counts the gateway's JSON log lines by level and keeps the ERROR
// lines (the first ones) and the last lines, without storing the whole log.
type logWatch struct {
	mu      sync.Mutex
	partial []byte // the start of a line not yet ended
	levels  map[string]int
	errors  []string
	last    []string
}

const keepLines = 20

// Write takes the log as the process writes it and adds every whole line.
func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.add(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

var levelField = []byte(`"level":"`)

// add counts one line; l.mu is held.
func (l *logWatch) add(line []byte) {
	level := "OTHER" // not a JSON log line (a panic, the runtime's own output)
	if i := bytes.Index(line, levelField); i >= 0 {
		rest := line[i+len(levelField):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			level = string(rest[:j])
		}
	}
	if l.levels == nil {
		l.levels = map[string]int{}
	}
	l.levels[level]++
	if (level == "ERROR" || level == "OTHER") && len(l.errors) < keepLines {
		l.errors = append(l.errors, string(line))
	}
	if len(l.last) == keepLines {
		l.last = l.last[1:]
	}
	l.last = append(l.last, string(line))
}

// counts is a copy of the lines seen per level.
func (l *logWatch) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.levels))
	for k, v := range l.levels {
		out[k] = v
	}
	return out
}

func (l *logWatch) errorLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors...)
}

func (l *logWatch) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	for _, s := range l.last {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}
