package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/settlement/stacks/testnode"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const (
	benchDB = "stxgate_bench"       // the 1,000-key database: every scenario but the scale one
	scaleDB = "stxgate_bench_scale" // the 1,000,000-key database
)

// bench is one run's infrastructure: what setup made and teardown removes.
type bench struct {
	*loadkit.Scratch // Dir holds the server logs and wrk files

	s   settings
	dbA *pgxpool.Pool // the 1,000-key database
	dbB *pgxpool.Pool // the scale database

	gwA, gwB, ceil *loadkit.Process
	stacks         *stacksBench // execute-stacks (stacks.go)
	pprofA, pprofB string
	pprofCeil      string
	floors         *floors
	wrk, wrkScript string // the wrk binary and the script it runs (wrk.go)

	wallets   []*wallet
	keysA     []benchKey // flat: wallet i's keys at i*keysPer..
	keysB     []benchKey
	apiOrders []orderRow
	fill      limiterFill

	// The scale gateway's Redis database (scaleRedis): its limiter keys,
	// the 100,000 filler ones among them, stay out of the 1,000-key
	// gateway's keyspace, so the two can be measured in alternate slices.
	redisB    *redis.Client
	redisURLB string

	loadStart string
	setupTook time.Duration
	fillTook  time.Duration
}

// setup creates the databases and the Redis prefix, starts the servers and
// provisions wallets, keys (through the API) and filler keys (SQL).
func setup(ctx context.Context, s settings) (*bench, error) {
	t0 := time.Now()
	b := &bench{s: s, loadStart: loadAvg()}
	// The test Stacks node starts in the background (simnet takes 10–40 s).
	var launched <-chan func() (*testnode.Node, func(), time.Duration, error)
	if s.stacks && s.profileDir == "" {
		launched = launchNode()
	}
	var err error
	if b.Scratch, err = loadkit.NewScratch(ctx, "stxgate-bench", s.dbURL, s.redisURL, "stxgate-bench:"+loadkit.RandomHex(4)+":"); err != nil {
		return b, err
	}
	dsnA, err := b.CreateDatabase(ctx, benchDB)
	if err != nil {
		return b, err
	}
	dsnB, err := b.CreateDatabase(ctx, scaleDB)
	if err != nil {
		return b, err
	}

	loadkit.Logf("starting gateways and the ceiling server (logs in %s)", b.Dir)
	if b.gwA, b.pprofA, err = b.startGateway(ctx, "gateway-1k", dsnA, b.Prefix+"a:", nil); err != nil {
		return b, err
	}
	if b.redisB, b.redisURLB, err = scaleRedis(ctx, b.Redis, s.redisURL); err != nil {
		return b, err
	}
	if b.gwB, b.pprofB, err = b.startGateway(ctx, "gateway-scale", dsnB, b.Prefix+"b:", map[string]string{"REDIS_URL": b.redisURLB}); err != nil {
		return b, err
	}
	self, err := os.Executable()
	if err != nil {
		return b, err
	}
	addr, err := loadkit.FreeLoopbackAddr()
	if err != nil {
		return b, err
	}
	ceilArgs := []string{"ceiling", "-listen", addr, "-database-url", dsnA,
		"-redis-url", s.redisURL, "-prefix", b.Prefix + "c:", "-minute", itoa(s.minute), "-hour", itoa(s.hour), "-day", itoa(s.day)}
	if s.profileDir != "" {
		if b.pprofCeil, err = loadkit.FreeLoopbackAddr(); err != nil {
			return b, err
		}
		ceilArgs = append(ceilArgs, "-pprof", b.pprofCeil)
	}
	if b.ceil, err = startProc(ctx, b.Dir, "ceiling", self, ceilArgs, nil, addr); err != nil {
		return b, err
	}
	if b.dbA, err = pgxpool.New(ctx, dsnA); err != nil {
		return b, err
	}
	if err := b.startFloors(ctx, dsnA); err != nil {
		return b, err
	}
	if b.wrk, err = wrkPath(); err != nil && s.profileDir == "" {
		return b, err
	}
	if b.wrkScript, err = writeScript(b.Dir); err != nil {
		return b, err
	}

	loadkit.Logf("provisioning %d wallets × %d keys through the API of both gateways", s.wallets, s.keysPer)
	if b.wallets, err = newWallets(s.wallets); err != nil {
		return b, err
	}
	for _, gw := range []struct {
		p    *loadkit.Process
		keys *[]benchKey
	}{{b.gwA, &b.keysA}, {b.gwB, &b.keysB}} {
		perWallet, err := createKeys(ctx, gw.p.Addr, b.wallets, s.keysPer)
		if err != nil {
			return b, err
		}
		for _, ks := range perWallet {
			*gw.keys = append(*gw.keys, ks...)
		}
		if gw.p == b.gwA {
			if b.apiOrders, err = createOrdersViaAPI(ctx, gw.p.Addr, b.wallets, perWallet); err != nil {
				return b, err
			}
		}
	}
	if launched != nil {
		if err := b.setupStacks(ctx, launched); err != nil {
			return b, err
		}
	} else {
		why := "-stacks=false"
		if s.profileDir != "" {
			why = "-profile"
		}
		b.stacks = &stacksBench{note: why}
	}
	bench := s.wallets * s.keysPer
	if b.dbB, err = pgxpool.New(ctx, dsnB); err != nil {
		return b, err
	}
	if err := insertFillerKeys(ctx, b.dbA, 1, s.baseKeys-bench, nil); err != nil {
		return b, err
	}
	if s.wantsScale() { // -phases without them: skip the long insert
		tf := time.Now()
		loadkit.Logf("inserting %d filler keys into %s (SQL)", s.scaleKeys-bench, scaleDB)
		if err := insertFillerKeys(ctx, b.dbB, 1, s.scaleKeys-bench, func(done int) {
			if done%500_000 == 0 {
				loadkit.Logf("  %d keys", done)
			}
		}); err != nil {
			return b, err
		}
		b.fillTook = time.Since(tf)
		// A gateway learns the keys another writer stored only when asked
		// for one it does not know; one started on a million-key database
		// holds all their hashes (app.New loads them). Restart it so the
		// scale phases measure that gateway, not one that saw 64 keys.
		b.gwB.Stop()
		if b.gwB, b.pprofB, err = b.startGateway(ctx, "gateway-scale-restarted", dsnB, b.Prefix+"b:", map[string]string{"REDIS_URL": b.redisURLB}); err != nil {
			return b, err
		}
		rssA, errA := loadkit.RSS(b.gwA.Pid())
		rssB, errB := loadkit.RSS(b.gwB.Pid())
		if err := cmp.Or(errA, errB); err != nil {
			return b, err
		}
		loadkit.Logf("restarted the scale gateway on %d keys: RSS %.0f MB (the 1,000-key gateway: %.0f MB)", s.scaleKeys, float64(rssB)/(1<<20), float64(rssA)/(1<<20))
	}
	if err := b.maintain(ctx, true); err != nil {
		return b, err
	}
	b.fill = limiterFill{rdb: b.redisB, prefix: b.Prefix + "b:", n: s.limiterKeys}
	b.setupTook = time.Since(t0)
	loadkit.Logf("setup done in %s", b.setupTook.Round(time.Second))
	return b, nil
}

// startGateway runs the real binary (or, for -profile, the pprof twin) with
// high limits so the limiter admits, on a free loopback port.
func (b *bench) startGateway(ctx context.Context, name, dsn, prefix string, extra map[string]string) (*loadkit.Process, string, error) {
	addr, err := loadkit.FreeLoopbackAddr()
	if err != nil {
		return nil, "", err
	}
	env := []string{
		"DATABASE_URL=" + dsn, "REDIS_URL=" + b.s.redisURL, "STXGATE_REDIS_PREFIX=" + prefix, "STXGATE_LISTEN=" + addr,
		"STXGATE_RATE_LIMIT_MINUTE=" + itoa(b.s.minute), "STXGATE_RATE_LIMIT_HOUR=" + itoa(b.s.hour), "STXGATE_RATE_LIMIT_DAY=" + itoa(b.s.day),
		"STXGATE_IP_LIMIT_MINUTE=" + itoa(b.s.minute), "STXGATE_WALLET_LIMIT_MINUTE=" + itoa(b.s.minute), "STXGATE_PUBLIC_LIMIT_MINUTE=" + itoa(b.s.minute),
		"STXGATE_LOG_LEVEL=warn", "STXGATE_METRICS_LISTEN=off",
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	path, args, pprofAddr := b.s.gateway, []string(nil), ""
	if b.s.profileDir != "" {
		if path, err = os.Executable(); err != nil {
			return nil, "", err
		}
		if pprofAddr, err = loadkit.FreeLoopbackAddr(); err != nil {
			return nil, "", err
		}
		args = []string{"gateway", "-pprof", pprofAddr}
	}
	p, err := startProc(ctx, b.Dir, name, path, args, env, addr)
	return p, pprofAddr, err
}

// teardown stops the servers and removes every database and Redis key the
// run made. It runs even after a failure or an interrupt.
func (b *bench) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, p := range []*loadkit.Process{b.gwA, b.gwB, b.ceil} {
		p.Stop()
	}
	b.stacks.stop()
	if f := b.floors; f != nil && f.shared {
		f.self.Stop()
		f.exec.Stop()
		if err := f.cleanup(ctx, b.keysA); err != nil {
			loadkit.Logf("delete the floors' Redis keys: %v", err)
		}
	}
	for _, db := range []*pgxpool.Pool{b.dbA, b.dbB} {
		if db != nil {
			db.Close()
		}
	}
	if b.redisB != nil && b.redisB != b.Redis { // redisB is set only once Scratch is
		if err := loadkit.DeletePrefix(ctx, b.redisB, b.Prefix); err != nil {
			loadkit.Logf("delete Redis prefix %s in the scale gateway's database: %v", b.Prefix, err)
		}
		_ = b.redisB.Close()
	}
	b.Remove(ctx, loadkit.Logf)
}

// scaleRedis is the Redis database of the scale gateway: the one after
// url's (modulo 16, Redis's default count), or url's own when the server
// has no second database (its limiter keys then share the 1,000-key
// gateway's keyspace while both are measured).
func scaleRedis(ctx context.Context, rdb *redis.Client, raw string) (*redis.Client, string, error) {
	opt := *rdb.Options()
	opt.DB = (opt.DB + 1) % 16
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("parse REDIS_URL: %w", err)
	}
	u.Path = "/" + strconv.Itoa(opt.DB)
	c := redis.NewClient(&opt)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		loadkit.Logf("Redis database %d is not usable (%v): the scale gateway shares database %d", opt.DB, err, rdb.Options().DB)
		return rdb, raw, nil
	}
	return c, u.String(), nil
}

// --- requests -----------------------------------------------------------

// perConn gives each connection its own fixed request.
func perConn(reqs [][]byte) func(int) []byte { return func(c int) []byte { return reqs[c%len(reqs)] } }

// keyedRequests: GET /api/v1/api-keys/self, connection c using key c mod 64.
func keyedRequests(addr string, keys []benchKey) [][]byte {
	reqs := make([][]byte, len(keys))
	for i, k := range keys {
		reqs[i] = buildRequest("GET", addr, "/api/v1/api-keys/self", [][2]string{{"X-API-Key", k.secret}}, nil)
	}
	return reqs
}

// ceilingSubject is the limiter subject ceiling requests count against: as
// many as there are bench keys, ids shaped like key ids.
func ceilingSubject(i int) string { return fillerID(90_000_000 + i) }

func ceilingARequests(addr string, n int) [][]byte {
	reqs := make([][]byte, n)
	for i := range reqs {
		reqs[i] = buildRequest("GET", addr, "/a/"+ceilingSubject(i), nil, nil)
	}
	return reqs
}

func executePool(addr string, rows []orderRow, keys []benchKey) *pool {
	p := &pool{reqs: make([][]byte, len(rows))}
	for i, r := range rows {
		p.reqs[i] = buildRequest("POST", addr, "/api/v1/orders/"+r.o.UUID+"/execute", [][2]string{{"X-API-Key", keys[r.keyIdx].secret}}, nil)
	}
	return p
}

func ceilingBPool(addr string, rows []orderRow) *pool {
	p := &pool{reqs: make([][]byte, len(rows))}
	for i, r := range rows {
		p.reqs[i] = buildRequest("POST", addr, "/b/"+ceilingSubject(r.keyIdx)+"/"+r.o.UUID, nil, nil)
	}
	return p
}

// signedPool pre-signs n distinct list_api_keys messages over the wallets
// (timestamps a millisecond apart, all inside the 5-minute window) on every
// core, so the client's signing is not timed.
func signedPool(addr string, ws []*wallet, n int) *pool {
	p := &pool{reqs: make([][]byte, n)}
	now := time.Now().UnixMilli()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				wl := ws[i%len(ws)]
				msg := `{"action":"list_api_keys","timestamp":` + strconv.FormatInt(now-int64(i/len(ws)), 10) + `}`
				sig, err := stacks.SignMessage(wl.key, []byte(msg))
				if err != nil {
					panic(err) // the wallets' keys were generated: never zero
				}
				p.reqs[i] = buildRequest("GET", addr, "/api/v1/api-keys", [][2]string{
					{"X-Message", msg}, {"X-Signature", sig}, {"X-Wallet-Address", wl.addr},
				}, nil)
			}
		})
	}
	wg.Wait()
	return p
}

// --- phases -------------------------------------------------------------

// phaseRec is one measured phase.
type phaseRec struct {
	Key   string
	Res   *Result
	CPU   cpuUse
	Rate  float64 // paced phases: the offered rate
	Xacts float64 // PostgreSQL transactions in the bench database during the phase
}

// perRequest is a CPU figure (cores) as seconds per completed request.
func (p *phaseRec) perRequest(cores float64) float64 {
	if p.Res.Sent == 0 {
		return 0
	}
	return cores * p.CPU.Wall / float64(p.Res.Sent)
}

// xacts is the bench databases' committed plus rolled-back transactions
// (the 1,000-key one and execute-stacks'):
// the phase's delta, divided by its requests, says how many transactions a
// request of the scenario costs (other work on the database is small: a
// usage flush a second, a maintenance sweep every ten).
func (b *bench) xacts(ctx context.Context) float64 {
	var n int64
	_ = b.Admin.QueryRow(ctx, `SELECT coalesce(sum(xact_commit + xact_rollback), 0)::bigint FROM pg_stat_database WHERE datname IN ($1, $2)`, benchDB, stacksDB).Scan(&n)
	return float64(n)
}

// Round is every phase of one round, by key.
type Round struct {
	N          int
	Phases     map[string]*phaseRec
	Order      []string
	MemInfo    float64 // bytes per active limiter key, INFO used_memory delta
	MemSample  float64 // bytes per active limiter key, MEMORY USAGE sample mean
	PopulateIn time.Duration
	Stacks     *stacksOutcome // where execute-stacks' orders of this round ended
}

// mergeRecs pools the slices of one phase: counts and times add up, the
// latencies are pooled, CPU is averaged over the slices' wall time.
func mergeRecs(a, b *phaseRec) *phaseRec {
	if a == nil {
		c := *b
		r := *b.Res
		r.Lat = slices.Clone(b.Res.Lat)
		c.Res = &r
		return &c
	}
	ra, rb := a.Res, b.Res
	m := &Result{Name: ra.Name, Count: ra.Count + rb.Count, Errors: ra.Errors + rb.Errors, FirstError: cmp.Or(ra.FirstError, rb.FirstError),
		Elapsed: ra.Elapsed + rb.Elapsed, Dry: ra.Dry || rb.Dry, Sent: ra.Sent + rb.Sent}
	m.Lat = append(slices.Clone(ra.Lat), rb.Lat...)
	slices.Sort(m.Lat)
	wa, wb := a.CPU.Wall, b.CPU.Wall
	avg := func(x, y float64) float64 {
		if wa+wb == 0 {
			return 0
		}
		return (x*wa + y*wb) / (wa + wb)
	}
	ca, cb := a.CPU, b.CPU
	cpu := cpuUse{Machine: avg(ca.Machine, cb.Machine), Self: avg(ca.Self, cb.Self), Server: avg(ca.Server, cb.Server),
		Redis: avg(ca.Redis, cb.Redis), Postgres: avg(ca.Postgres, cb.Postgres), Other: avg(ca.Other, cb.Other), Steal: avg(ca.Steal, cb.Steal), Chain: avg(ca.Chain, cb.Chain),
		Cores: avg(ca.Cores, cb.Cores), Wall: wa + wb}
	return &phaseRec{Key: a.Key, Res: m, CPU: cpu, Rate: a.Rate, Xacts: a.Xacts + b.Xacts}
}

func (r *Round) add(p *phaseRec) {
	r.Phases[p.Key] = p
	r.Order = append(r.Order, p.Key)
}

func (b *bench) closed(key, addr string, next func(int) []byte, maxCount int) Phase {
	if maxCount <= 0 || maxCount > b.s.maxCount {
		maxCount = b.s.maxCount
	}
	return Phase{Name: key, Addr: addr, Conns: b.s.conns, Warmup: b.s.warmup, Duration: b.s.duration,
		MaxCount: maxCount, Next: next, OK: is2xx}
}

// profiledPaced is a paced phase of -profile: 3,000 req/s, as long as the
// profile's other phases.
func (b *bench) profiledPaced(key, addr string, next func(int) []byte) Phase {
	ph := b.pacedPhase(key, addr, next, 3000)
	ph.Duration = b.s.duration
	return ph
}

func (b *bench) pacedPhase(key, addr string, next func(int) []byte, rate float64) Phase {
	return Phase{Name: key, Addr: addr, Conns: b.s.conns, Warmup: b.s.warmup, Duration: b.s.paced,
		MaxCount: b.s.maxCount, Rate: rate, Next: next, OK: is2xx}
}

// measure runs one phase and samples CPU around it.
func (b *bench) measure(ctx context.Context, key string, server *loadkit.Process, run func() (*Result, error)) (*phaseRec, error) {
	pid := 0
	if server != nil {
		pid = server.Pid()
	}
	// The test Stacks node's CPU is sampled in every phase: it is idle but
	// for execute-stacks (and then counted apart from "other").
	chain := 0
	if b.stacks.measured() {
		chain = b.stacks.node.Pid()
	}
	x0 := b.xacts(ctx)
	before := sampleCPU(pid, chain)
	res, err := run()
	after := sampleCPU(pid, chain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	time.Sleep(300 * time.Millisecond) // let usage flushes and statistics settle between phases
	rec := &phaseRec{Key: key, Res: res, CPU: cpuBetween(before, after), Xacts: b.xacts(ctx) - x0}
	if res.ClientCPU > 0 && rec.CPU.Wall > 0 { // wrk (or the recover floor) in its own process, besides this one driving it
		rec.CPU.Self += res.ClientCPU.Seconds() / rec.CPU.Wall
		rec.CPU.Other = max(0, rec.CPU.Other-res.ClientCPU.Seconds()/rec.CPU.Wall)
	}
	c := rec.CPU
	chainNote := ""
	if c.Chain > 0.02 {
		chainNote = fmt.Sprintf(", test node %.2f", c.Chain)
	}
	loadkit.Logf("  %-17s %9.0f req/s  p50 %-9s p99 %-9s p99.9 %-9s n=%d errors=%d  cores: server %.2f, load %.2f, redis %.2f, pg %.2f%s, other %.2f, steal %.2f%s",
		key, res.Throughput(), fmtDur(res.Quantile(0.5)), fmtDur(res.Quantile(0.99)), fmtDur(res.Quantile(0.999)), res.Count, res.Errors,
		c.Server, c.Self, c.Redis, c.Postgres, chainNote, c.Other, c.Steal, errNote(res))
	return rec, ctx.Err()
}

func errNote(r *Result) string {
	s := ""
	if r.Dry {
		s += " (source ran dry)"
	}
	if r.FirstError != "" {
		s += " first error: " + r.FirstError
	}
	return s
}

// estimate sizes a pool: last round's rate over a phase, with headroom.
func (b *bench) estimate(rate float64, first int) int {
	if rate <= 0 {
		return first
	}
	warmups := b.s.warmup + time.Duration(b.s.slices-1)*b.s.sliceWarmup
	n := int(rate*(warmups+b.s.duration).Seconds()*1.4) + 4*b.s.conns
	return min(max(n, 2000), 400_000)
}

// slicing is how a phase is measured: d in all, in n interleaved slices
// (closed loops and paced phases differ).
type slicing struct {
	d time.Duration
	n int
}

// step is one phase of an interleaved group (rounds' measureSliced).
type step struct {
	key    string
	server *loadkit.Process
	run    func(warmup, duration time.Duration) (*Result, error)
	rate   float64 // paced steps: the offered rate, recorded on the phase
	// afterSlice runs, untimed, after each slice of the phase; after
	// once the whole phase is measured.
	afterSlice, after func() error
}

// rounds alternates every scenario with its ceiling, rounds times.
func (b *bench) rounds(ctx context.Context) ([]*Round, error) {
	s := b.s
	fl := b.floors
	keyedA, keyedB := keyedRequests(b.gwA.Addr, b.keysA), keyedRequests(b.gwB.Addr, b.keysB)
	floorSelf := fl.selfRequests(b.keysA)
	// Closed-loop phases read their requests from files (wrk's script).
	file := func(name string, reqs [][]byte) (string, error) {
		path := filepath.Join(b.Dir, name+".req")
		return path, writeRequests(path, reqs)
	}
	keyedAFile, err := file("keyed-a", keyedA)
	if err != nil {
		return nil, err
	}
	keyedBFile, err := file("keyed-b", keyedB)
	if err != nil {
		return nil, err
	}
	floorSelfFile, err := file("floor-self", floorSelf)
	if err != nil {
		return nil, err
	}
	warmups := s.warmup + time.Duration(s.slices-1)*s.sliceWarmup
	phaseSecs := (warmups + s.duration).Seconds()
	// First guesses for round 1; later rounds size the pools from what the
	// previous round consumed. A pool that runs dry ends its phase early
	// (reported), which leaves its throughput right.
	nExec, nFloorExec, nSigned := int(3000*phaseSecs), int(6000*phaseSecs), int(3000*phaseSecs)
	nStacks := int(150 * phaseSecs)
	st := b.stacks
	var out []*Round
	for r := 1; r <= s.rounds; r++ {
		round := &Round{N: r, Phases: map[string]*phaseRec{}}
		loadkit.Logf("round %d/%d: preparing %d orders to execute, %d for floor-execute, %d signed messages", r, s.rounds, nExec, nFloorExec, nSigned)
		execRows, err := signOrders(b.wallets, s.keysPer, nExec, true)
		if err != nil {
			return nil, err
		}
		if err := copyOrders(ctx, b.dbA, execRows, b.keysA); err != nil {
			return nil, err
		}
		if r == 1 {
			execRows = append(b.apiOrders, execRows...) // the API-created ones first
		}
		floorRows, err := signOrders(b.wallets, s.keysPer, nFloorExec, false)
		if err != nil {
			return nil, err
		}
		if err := fl.copyOrders(ctx, b, floorRows); err != nil {
			return nil, err
		}
		if err := b.maintain(ctx, false); err != nil {
			return nil, err
		}
		execFile, err := file("execute", executePool(b.gwA.Addr, execRows, b.keysA).reqs)
		if err != nil {
			return nil, err
		}
		floorExecFile, err := file("floor-execute", fl.execRequests(floorRows, b.keysA))
		if err != nil {
			return nil, err
		}
		var stacksRows []orderRow
		if st.measured() {
			if stacksRows, err = st.orders(nStacks); err != nil {
				return nil, err
			}
			if err := copyOrders(ctx, st.db, stacksRows, st.keys); err != nil {
				return nil, err
			}
		}
		signedFile, err := file("signed", signedPool(b.gwA.Addr, b.wallets, nSigned).reqs)
		if err != nil {
			return nil, err
		}
		// One signed header set per wallet, re-used for every request of the
		// phase (a dashboard or a bot re-using its list signature).
		reuseFile, err := file("signed-reuse", signedPool(b.gwA.Addr, b.wallets, len(b.wallets)).reqs)
		if err != nil {
			return nil, err
		}

		// closedStep is a closed loop driven by wrk over requests in path:
		// round-robin, or (pool) each once, the phase's slices consuming
		// the pool in turn.
		closedStep := func(key string, server *loadkit.Process, path string, pool bool, size int) step {
			next := 0
			return step{key: key, server: server, run: func(w, d time.Duration) (*Result, error) {
				return b.runWrk(ctx, wrkPhase{name: key, addr: server.Addr, file: path, pool: pool, offset: &next,
					size: size, conns: s.conns, warmup: w, duration: d})
			}}
		}
		floorExecStep := closedStep("floor-execute", fl.exec, floorExecFile, true, len(floorRows))
		floorExecStep.afterSlice = func() error { return fl.dropOrders(ctx, b, floorRows, true) }
		floorExecStep.after = func() error { return fl.dropOrders(ctx, b, floorRows, false) }
		recoverStep := step{key: "floor-recover", run: func(w, d time.Duration) (*Result, error) { return fl.recover(ctx, w, d) }}
		// measureSliced measures each step in sl.n slices of
		// sl.d/sl.n, interleaved with the other steps (A B, then
		// B A, …: ABBA), and records each step's slices merged into one
		// phase. A floor and its scenario thus share the machine's good
		// and bad seconds: its speed drifts by tens of percent within a
		// minute on this shared VM, which whole phases run one after the
		// other turned into ratio noise. The first slice has the full
		// warm-up, later ones a short one (new connections, warm servers).
		closed, paced := slicing{s.duration, s.slices}, slicing{s.paced, s.pacedSlices}
		measureSliced := func(first int, sl slicing, steps ...step) error {
			steps = slices.DeleteFunc(steps, func(st step) bool { return !s.wants(st.key) })
			if len(steps) == 0 {
				return nil
			}
			merged := make([]*phaseRec, len(steps))
			for i := range sl.n {
				warm := s.sliceWarmup
				if i == 0 {
					warm = s.warmup
				}
				for k := range steps {
					j := k
					if (i+first)%2 == 1 {
						j = len(steps) - 1 - k
					}
					st := steps[j]
					rec, err := b.measure(ctx, st.key, st.server, func() (*Result, error) { return st.run(warm, sl.d/time.Duration(sl.n)) })
					if err != nil {
						return err
					}
					merged[j] = mergeRecs(merged[j], rec)
					if st.afterSlice != nil {
						if err := st.afterSlice(); err != nil {
							return err
						}
					}
				}
			}
			for j, st := range steps {
				merged[j].Rate = st.rate
				if st.after != nil {
					if err := st.after(); err != nil {
						return err
					}
				}
				round.add(merged[j])
			}
			return nil
		}
		// Odd rounds start with the floor, even rounds with the scenario.
		start := (r + 1) % 2
		if err := measureSliced(start, closed, closedStep("floor-self", fl.self, floorSelfFile, false, 0),
			closedStep("keyed", b.gwA, keyedAFile, false, 0)); err != nil {
			return nil, err
		}
		// Latency at a fixed offered load (the Go client: wrk has no open
		// loop): a quarter of this round's floor-self. Paced requests cost
		// client and server about twice the CPU of closed-loop ones (no
		// batching of wake-ups), so half the closed-loop floor already
		// saturates two cores.
		var rate, light float64
		if fs := round.Phases["floor-self"]; fs != nil {
			rate, light = s.pacedShare*fs.Res.Throughput(), s.lightShare*fs.Res.Throughput()
		}
		pacedStep := func(key string, server *loadkit.Process, next func(int) []byte, rate float64) step {
			return step{key: key, server: server, rate: rate, run: func(w, d time.Duration) (*Result, error) {
				ph := b.pacedPhase(key, server.Addr, next, rate)
				ph.Warmup, ph.Duration = w, d
				return ph.Run(ctx)
			}}
		}
		if err := measureSliced(start, paced, pacedStep("floor-self-paced", fl.self, perConn(floorSelf), rate),
			pacedStep("keyed-paced", b.gwA, perConn(keyedA), rate)); err != nil {
			return nil, err
		}
		// The same at a lighter load (a tenth of floor-self).
		if err := measureSliced(start, paced, pacedStep("floor-self-light", fl.self, perConn(floorSelf), light),
			pacedStep("keyed-light", b.gwA, perConn(keyedA), light)); err != nil {
			return nil, err
		}
		// Scale: the same keyed load on the gateway whose database holds
		// the million keys, while its Redis database holds the extra active
		// limiter keys, in slices alternating with the 1,000-key gateway's
		// (keyed-base, its own Redis database), as a scenario alternates
		// with its floor: a burst of the machine lands on both.
		if s.wantsScale() {
			if err := b.populate(ctx, round); err != nil {
				return nil, err
			}
		}
		if err := measureSliced(start, closed, closedStep("keyed-scale", b.gwB, keyedBFile, false, 0),
			closedStep("keyed-base", b.gwA, keyedAFile, false, 0)); err != nil {
			return nil, err
		}
		if err := measureSliced(start, paced, pacedStep("keyed-scale-paced", b.gwB, perConn(keyedB), rate),
			pacedStep("keyed-base-paced", b.gwA, perConn(keyedA), rate)); err != nil {
			return nil, err
		}
		if s.wantsScale() {
			if err := b.fill.remove(ctx); err != nil {
				return nil, err
			}
		}
		execSteps := []step{floorExecStep, closedStep("execute", b.gwA, execFile, true, len(execRows))}
		if st.measured() {
			execSteps = append(execSteps, st.step(ctx, round, stacksRows))
		}
		if err := measureSliced(start, closed, execSteps...); err != nil {
			return nil, err
		}
		if err := measureSliced(start, closed, recoverStep, closedStep("signed", b.gwA, signedFile, true, nSigned),
			closedStep("signed-reuse", b.gwA, reuseFile, false, 0)); err != nil {
			return nil, err
		}
		// The 1,000-key baselines of the scale comparison (not phases of
		// their own: they are not listed twice).
		if s.phases == nil {
			round.Phases["keyed-1k"] = mergeRecs(nil, round.Phases["keyed-base"])
			round.Phases["keyed-1k-paced"] = mergeRecs(nil, round.Phases["keyed-base-paced"])
		}
		out = append(out, round)
		estimate := func(key string, n int) int {
			if rec := round.Phases[key]; rec != nil {
				return b.estimate(rec.Res.Throughput(), n)
			}
			return n
		}
		nExec = estimate("execute", nExec)
		nFloorExec = estimate("floor-execute", nFloorExec)
		nSigned = estimate("signed", nSigned)
		if st.measured() {
			nStacks = estimate("execute-stacks", nStacks)
		}
	}
	if st.measured() {
		if err := st.finish(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// populate makes the scale test's limiter keys active and measures what
// they cost Redis.
func (b *bench) populate(ctx context.Context, round *Round) error {
	t0 := time.Now()
	before, err := loadkit.UsedMemory(ctx, b.Redis)
	if err != nil {
		return err
	}
	if err := b.fill.populate(ctx); err != nil {
		return err
	}
	after, err := loadkit.UsedMemory(ctx, b.Redis)
	if err != nil {
		return err
	}
	sample, err := b.fill.sampleMemory(ctx, 200)
	if err != nil {
		return err
	}
	round.MemInfo = float64(after-before) / float64(b.fill.n)
	round.MemSample = sample
	round.PopulateIn = time.Since(t0)
	loadkit.Logf("  %d active limiter keys in Redis: %.0f B/key (INFO used_memory delta), %.0f B/key (MEMORY USAGE, sample of 200), in %s",
		b.fill.n, round.MemInfo, round.MemSample, round.PopulateIn.Round(time.Millisecond))
	return nil
}

// profile runs each gateway scenario and ceilings (a) and (b) once, the
// gateway being the pprof twin, and saves a CPU profile of the server during
// each (and its allocations).
func (b *bench) profile(ctx context.Context) error {
	s := b.s
	if err := os.MkdirAll(s.profileDir, 0o755); err != nil {
		return err
	}
	n := int(2000 * (s.warmup + s.duration).Seconds())
	rows, err := signOrders(b.wallets, s.keysPer, n, true)
	if err != nil {
		return err
	}
	if err := copyOrders(ctx, b.dbA, rows, b.keysA); err != nil {
		return err
	}
	ceilRows, err := signOrders(b.wallets, s.keysPer, 2*n, false)
	if err != nil {
		return err
	}
	if err := copyOrders(ctx, b.dbA, ceilRows, b.keysA); err != nil {
		return err
	}
	if err := b.cannedSelf(ctx); err != nil {
		return err
	}
	canned := make([][]byte, len(b.keysA))
	for i := range canned {
		canned[i] = buildRequest("GET", b.ceil.Addr, "/a-canned/"+ceilingSubject(i), nil, nil)
	}
	steps := []struct {
		key    string
		pprof  string
		server *loadkit.Process
		phase  Phase
	}{
		{"a", b.pprofCeil, b.ceil, b.closed("a", b.ceil.Addr, perConn(ceilingARequests(b.ceil.Addr, len(b.keysA))), 0)},
		{"a-canned", b.pprofCeil, b.ceil, b.closed("a-canned", b.ceil.Addr, perConn(canned), 0)},
		{"keyed", b.pprofA, b.gwA, b.closed("keyed", b.gwA.Addr, perConn(keyedRequests(b.gwA.Addr, b.keysA)), 0)},
		{"b", b.pprofCeil, b.ceil, b.closed("b", b.ceil.Addr, ceilingBPool(b.ceil.Addr, ceilRows).Next, len(ceilRows))},
		{"execute", b.pprofA, b.gwA, b.closed("execute", b.gwA.Addr, executePool(b.gwA.Addr, rows, b.keysA).Next, n)},
		{"signed", b.pprofA, b.gwA, b.closed("signed", b.gwA.Addr, signedPool(b.gwA.Addr, b.wallets, n).Next, n)},
		// keyed once more: whatever executes and signed calls leave behind
		// in the process shows as a difference to the first keyed profile.
		{"keyed-again", b.pprofA, b.gwA, b.closed("keyed-again", b.gwA.Addr, perConn(keyedRequests(b.gwA.Addr, b.keysA)), 0)},
		// keyed on the million-key gateway with the extra limiter keys
		// active: what the scale costs, beside the two keyed profiles.
		{"keyed-scale", b.pprofB, b.gwB, b.closed("keyed-scale", b.gwB.Addr, perConn(keyedRequests(b.gwB.Addr, b.keysB)), 0)},
		// Paced at a fixed 3,000 req/s (about a quarter of (a) here): where
		// an open-loop request's extra CPU goes, for the ceiling and the gateway.
		{"a-paced", b.pprofCeil, b.ceil, b.profiledPaced("a-paced", b.ceil.Addr, perConn(ceilingARequests(b.ceil.Addr, len(b.keysA))))},
		{"keyed-paced", b.pprofA, b.gwA, b.profiledPaced("keyed-paced", b.gwA.Addr, perConn(keyedRequests(b.gwA.Addr, b.keysA)))},
	}
	// What a step needs before its load starts (and its profile window
	// opens) and after it ends.
	around := map[string]struct{ before, after func() error }{
		"b":           {after: func() error { return b.dropCeilingOrders(ctx, ceilRows, false) }},
		"keyed-scale": {before: func() error { return b.fill.populate(ctx) }, after: func() error { return b.fill.remove(ctx) }},
	}
	for _, st := range steps {
		if !s.wants(st.key) {
			continue
		}
		if h := around[st.key]; h.before != nil {
			if err := h.before(); err != nil {
				return err
			}
		}
		secs := int((s.duration - time.Second).Seconds())
		var (
			wg      sync.WaitGroup
			profErr error
		)
		wg.Go(func() {
			time.Sleep(s.warmup + 500*time.Millisecond)
			profErr = fetch(ctx, "http://"+st.pprof+"/debug/pprof/profile?seconds="+itoa(secs), filepath.Join(s.profileDir, st.key+".cpu.pprof"))
		})
		var traceErr error
		if strings.HasSuffix(st.key, "-paced") { // where a slow paced request waited: go tool trace -pprof=sched|sync|net
			wg.Go(func() {
				time.Sleep(s.warmup + 500*time.Millisecond)
				traceErr = fetch(ctx, "http://"+st.pprof+"/debug/pprof/trace?seconds=2", filepath.Join(s.profileDir, st.key+".trace"))
			})
		}
		before := filepath.Join(s.profileDir, st.key+".allocs-before.pprof")
		if err := fetch(ctx, "http://"+st.pprof+"/debug/pprof/allocs", before); err != nil {
			return err
		}
		rec, err := b.measure(ctx, st.key, st.server, func() (*Result, error) { return st.phase.Run(ctx) })
		wg.Wait()
		if err != nil {
			return err
		}
		if err := cmp.Or(profErr, traceErr); err != nil {
			return err
		}
		if err := fetch(ctx, "http://"+st.pprof+"/debug/pprof/allocs", filepath.Join(s.profileDir, st.key+".allocs.pprof")); err != nil {
			return err
		}
		if h := around[st.key]; h.after != nil {
			if err := h.after(); err != nil {
				return err
			}
		}
		loadkit.Logf("  %s: %d requests (%d in the profile's window), %.0f µs server CPU per request; go tool pprof -top %s", st.key,
			rec.Res.Sent, int(float64(rec.Res.Count)*float64(secs)/s.duration.Seconds()), rec.perRequest(rec.CPU.Server)*1e6,
			filepath.Join(s.profileDir, st.key+".cpu.pprof"))
	}
	return nil
}

func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// cannedSelf gives the ceiling server a real /self response to answer with
// (profiling diagnostics: response size versus gateway logic).
func (b *bench) cannedSelf(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+b.gwA.Addr+"/api/v1/api-keys/self", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", b.keysA[0].secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	h := resp.Header.Clone()
	for _, k := range []string{"Date", "Content-Length", "Content-Type"} {
		h.Del(k)
	}
	in, _ := json.Marshal(map[string]any{"header": h, "body": body})
	put, err := http.NewRequestWithContext(ctx, "PUT", "http://"+b.ceil.Addr+"/canned", bytes.NewReader(in))
	if err != nil {
		return err
	}
	put.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(put)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("PUT /canned: %s", resp.Status)
	}
	return nil
}

// maintain vacuums and analyses the bench databases now, between phases, and
// keeps autovacuum off their tables: otherwise the vacuum a round's updates
// call for starts a minute later (autovacuum_naptime) — in the middle of the
// next round's phases, where it took half a core in the first runs. first
// also turns autovacuum off and checkpoints after the million-row insert
// (a checkpoint is cluster-wide, so only that once; failure is tolerated).
func (b *bench) maintain(ctx context.Context, first bool) error {
	dbs := []*pgxpool.Pool{b.dbA, b.dbB}
	if b.stacks.measured() {
		dbs = append(dbs, b.stacks.db)
	}
	for _, db := range dbs {
		rows, err := db.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`)
		if err != nil {
			return fmt.Errorf("list tables: %w", err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list tables: %w", err)
		}
		for _, t := range tables {
			if first {
				if _, err := db.Exec(ctx, "ALTER TABLE "+t+" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)"); err != nil {
					return fmt.Errorf("autovacuum off on %s: %w", t, err)
				}
			}
			if _, err := db.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
				return fmt.Errorf("vacuum %s: %w", t, err)
			}
		}
	}
	if first {
		if _, err := b.dbB.Exec(ctx, "CHECKPOINT"); err != nil {
			loadkit.Logf("CHECKPOINT after the scale insert: %v (continuing)", err)
		}
	}
	return nil
}

// dropCeilingOrders deletes ceiling (b)'s orders right after its phase. The
// ceiling claims them and never fills them, so half a minute later the
// gateway's reconciliation (it shares the table) would settle and fill every
// one of them in the background — in the middle of later phases, where it
// took half a core of PostgreSQL and slowed the gateway in the first runs.
func (b *bench) dropCeilingOrders(ctx context.Context, rows []orderRow, claimedOnly bool) error {
	uuids := make([]string, len(rows))
	for i, r := range rows {
		uuids[i] = r.o.UUID
	}
	q := `DELETE FROM orders WHERE uuid = ANY($1)`
	if claimedOnly {
		q += ` AND status = 'executing'`
	}
	if _, err := b.dbA.Exec(ctx, q, uuids); err != nil {
		return fmt.Errorf("delete ceiling (b) orders: %w", err)
	}
	return nil
}
