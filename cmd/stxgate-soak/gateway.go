package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const soakDB = "stxgate_soak"

// runner is one soak run: what it created, the gateway it drives, and the
// samples it took.
type runner struct {
	s       settings
	dir     string // wrk script and request files
	admin   *pgx.Conn
	db      *pgxpool.Pool // the soak database, for orders and pg_stat_activity
	rdb     *redis.Client
	prefix  string
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
	r := &runner{s: s, prefix: "stxgate-soak:" + loadkit.RandomHex(6) + ":", capacity: map[phase]float64{}}
	var err error
	if r.dir, err = os.MkdirTemp("", "stxgate-soak-"); err != nil {
		return nil, err
	}
	if err := os.WriteFile(r.dir+"/soak.lua", luaScript, 0o644); err != nil {
		return r, err
	}
	if r.admin, err = pgx.Connect(ctx, s.dbURL); err != nil {
		return r, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	var locked bool
	if err := r.admin.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('stxgate-soak', 0))`).Scan(&locked); err != nil {
		return r, fmt.Errorf("advisory lock: %w", err)
	}
	if !locked {
		r.admin.Close(ctx)
		r.admin = nil // not ours to drop
		return r, fmt.Errorf("another stxgate-soak run holds this PostgreSQL; wait for it to finish")
	}
	if _, err := r.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+soakDB+" WITH (FORCE)"); err != nil {
		return r, err
	}
	if _, err := r.admin.Exec(ctx, "CREATE DATABASE "+soakDB); err != nil {
		return r, err
	}
	dsn, err := loadkit.WithDatabase(s.dbURL, soakDB)
	if err != nil {
		return r, err
	}
	opt, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return r, fmt.Errorf("REDIS_URL: %w", err)
	}
	r.rdb = redis.NewClient(opt)
	if r.gw, err = startGateway(ctx, s, dsn, r.prefix); err != nil {
		return r, err
	}
	logf("gateway pid %d on %s (metrics on %s), database %s, Redis prefix %s", r.gw.Pid(), r.gw.Addr, r.gw.metricsAddr, soakDB, r.prefix)
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
	if r.admin != nil {
		if _, err := r.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+soakDB+" WITH (FORCE)"); err != nil {
			logf("drop database %s: %v", soakDB, err)
		}
		_ = r.admin.Close(ctx)
	}
	if r.rdb != nil {
		if err := loadkit.DeletePrefix(ctx, r.rdb, r.prefix); err != nil {
			logf("delete Redis prefix %s: %v", r.prefix, err)
		}
		_ = r.rdb.Close()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}

// createWallets makes the wallets and their keys through the API
// (wallet-signed create_api_key), as a user would.
func createWallets(ctx context.Context, addr string) ([]*wallet, error) {
	ws := make([]*wallet, walletCount)
	for i := range ws {
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		w := &wallet{key: k, addr: k.Address(stacks.Mainnet).String()}
		c, err := client.New(ctx, addr, client.WithSigner(client.PrivateKeySigner{Key: k}))
		if err != nil {
			return nil, err
		}
		for j := range keysPerWallet {
			created, _, err := c.CreateKey(ctx, client.CreateKeyRequest{
				Name:        fmt.Sprintf("soak %d.%d", i, j),
				Permissions: []client.Permission{client.PermissionCreate, client.PermissionExecute, client.PermissionCancel},
			})
			if err != nil {
				return nil, fmt.Errorf("create key through the API: %w", err)
			}
			w.keys = append(w.keys, created.APIKey)
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
