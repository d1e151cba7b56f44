package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/ratelimit/ratelimittest"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// wallet is a bench wallet with the keys it created through the API.
type wallet struct {
	key  *stacks.PrivateKey
	addr string
}

type benchKey struct {
	id, secret string
}

func newWallets(n int) ([]*wallet, error) {
	ws := make([]*wallet, n)
	for i := range ws {
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		ws[i] = &wallet{key: k, addr: k.Address(stacks.Mainnet).String()}
	}
	return ws, nil
}

// createKeys creates perWallet keys for every wallet through the gateway's
// API (loadkit.CreateKeys).
func createKeys(ctx context.Context, addr string, ws []*wallet, perWallet int) ([][]benchKey, error) {
	out := make([][]benchKey, len(ws))
	for i, w := range ws {
		created, err := loadkit.CreateKeys(ctx, addr, w.key, perWallet, func(j int) string { return fmt.Sprintf("bench %d.%d", i, j) })
		if err != nil {
			return nil, err
		}
		for _, k := range created {
			out[i] = append(out[i], benchKey{id: k.ID, secret: k.APIKey})
		}
	}
	return out, nil
}

// fillerID is the id of the i-th filler key: md5("fill<i>") as a UUID, the
// same value PostgreSQL's md5('fill' || i)::uuid::text gives.
func fillerID(i int) string {
	h := md5.Sum([]byte("fill" + strconv.Itoa(i)))
	s := hex.EncodeToString(h[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// insertFillerKeys adds keys [from, to] straight into api_keys (random
// 32-byte hashes, four keys per made-up wallet): the scale test needs a
// million rows, and creating them through the API would take an hour.
func insertFillerKeys(ctx context.Context, db *pgxpool.Pool, from, to int, progress func(done int)) error {
	const q = `INSERT INTO api_keys (id, wallet_address, name, key_hash, key_prefix, permissions, status,
			rate_limit_minute, rate_limit_hour, rate_limit_day, created_at, updated_at)
		SELECT md5('fill' || i)::uuid::text,
			'SPFILL' || upper(substr(md5('w' || (i / 4)), 1, 32)),
			'filler ' || i,
			sha256(('stxgate-bench-fill-' || i)::bytea),
			'ck_live_' || substr(md5('p' || i), 1, 8),
			'{create,execute,cancel}', 'active', 100, 1000, 10000, now(), now()
		FROM generate_series($1::int, $2::int) AS i`
	const batch = 100_000
	for lo := from; lo <= to; lo += batch {
		hi := min(to, lo+batch-1)
		if _, err := db.Exec(ctx, q, lo, hi); err != nil {
			return fmt.Errorf("insert filler keys %d..%d: %w", lo, hi, err)
		}
		if progress != nil {
			progress(hi - from + 1)
		}
	}
	return nil
}

// orderRow is one order ready for COPY, with who may execute it.
type orderRow struct {
	o      ordersig.Order
	sig    string
	keyIdx int // index into the flat key list of the gateway: a key of the owner
}

// signOrders makes n open orders spread over the wallets, signed by their
// owners (SIP-018, domain stxgate/1/mainnet) on every core, before timing.
func signOrders(ws []*wallet, keysPer int, n int, sign bool) ([]orderRow, error) {
	if !sign { // ceiling rows: the same shape, one real signature reused
		return signOrdersAs(ws, keysPer, n, false, stacks.NewDomain("stxgate", "1", stacks.Mainnet), time.Hour, loadkit.Order)
	}
	return signOrdersWith(ws, keysPer, n, stacks.NewDomain("stxgate", "1", stacks.Mainnet), time.Hour, loadkit.Order)
}

// signOrdersWith makes n open orders shaped by mk, valid from a minute ago
// for validity, spread over the wallets and signed by their owners under
// domain on every core.
func signOrdersWith(ws []*wallet, keysPer, n int, domain stacks.Domain, validity time.Duration,
	mk func(owner, uuid string, from, to time.Time) ordersig.Order) ([]orderRow, error) {
	return signOrdersAs(ws, keysPer, n, true, domain, validity, mk)
}

func signOrdersAs(ws []*wallet, keysPer int, n int, sign bool, domain stacks.Domain, validity time.Duration,
	mk func(owner, uuid string, from, to time.Time) ordersig.Order) ([]orderRow, error) {
	now := time.Now()
	from, to := now.Add(-time.Minute), now.Add(validity)
	rows := make([]orderRow, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		workers  = runtime.GOMAXPROCS(0)
		anySig   string
	)
	if !sign {
		s, err := ordersig.Sign(ws[0].key, mk(ws[0].addr, "x", from, to), domain)
		if err != nil {
			return nil, err
		}
		anySig = s
	}
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				wi := i % len(ws)
				o := mk(ws[wi].addr, client.NewUUID(), from, to)
				sig := anySig
				if sign {
					s, err := ordersig.Sign(ws[wi].key, o, domain)
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					sig = s
				}
				rows[i] = orderRow{o: o, sig: sig, keyIdx: wi*keysPer + (i/len(ws))%keysPer}
			}
		})
	}
	wg.Wait()
	return rows, firstErr
}

// copyOrders inserts open orders created by the keys (loadkit.CopyOpenOrders).
func copyOrders(ctx context.Context, db *pgxpool.Pool, rows []orderRow, keys []benchKey) error {
	return loadkit.CopyOpenOrders(ctx, db, len(rows), func(i int) (ordersig.Order, string, string) {
		return rows[i].o, rows[i].sig, "key:" + keys[rows[i].keyIdx].id
	})
}

// createOrdersViaAPI submits one order per wallet through POST /orders/new
// with the owner's key: proof that the orders the tool signs are the ones
// the gateway verifies (the rest are copied in for speed).
func createOrdersViaAPI(ctx context.Context, addr string, ws []*wallet, keys [][]benchKey) ([]orderRow, error) {
	now := time.Now()
	var out []orderRow
	for i, w := range ws {
		c, err := client.New(ctx, addr, client.WithSigner(client.PrivateKeySigner{Key: w.key}), client.WithAPIKey(keys[i][0].secret))
		if err != nil {
			return nil, err
		}
		o := loadkit.Order(w.addr, client.NewUUID(), now.Add(-time.Minute), now.Add(time.Hour))
		_, _, err = c.CreateOrder(ctx, client.NewOrder{
			UUID: o.UUID, Owner: o.Owner, InputToken: o.InputToken, OutputToken: o.OutputToken, AmountIn: o.AmountIn,
			TargetPrice: o.TargetPrice, Direction: client.Direction(o.Direction), ConditionToken: o.ConditionToken, Recipient: o.Recipient,
			ValidFrom: time.Unix(o.ValidFrom, 0), ValidTo: time.Unix(o.ValidTo, 0),
		})
		if err != nil {
			return nil, fmt.Errorf("create order through the API: %w", err)
		}
		out = append(out, orderRow{o: o, keyIdx: i * len(keys[i])})
	}
	return out, nil
}

// limiterFill makes n limiter subjects active in Redis under the gateway's
// prefix — the filler keys 1..n, each having made one request under the
// default policy — with pipelined EVALSHA of the real script.
type limiterFill struct {
	rdb    *redis.Client
	prefix string // the limiter's, as redislimit.New takes it
	n      int
}

func (f limiterFill) keys(i int) []string {
	return ratelimittest.Keys(f.prefix, keyauth.Subject(fillerID(i)))
}

func (f limiterFill) populate(ctx context.Context) error {
	if err := ratelimittest.Script.Load(ctx, f.rdb).Err(); err != nil {
		return fmt.Errorf("load limiter script: %w", err)
	}
	args := ratelimittest.Args(keyauth.PolicyFor(apikey.Limits{Minute: 100, Hour: 1000, Day: 10000}), true)
	for lo := 1; lo <= f.n; lo += 1000 {
		pipe := f.rdb.Pipeline()
		for i := lo; i < lo+1000 && i <= f.n; i++ {
			pipe.EvalSha(ctx, ratelimittest.Script.Hash(), f.keys(i), args...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("populate limiter keys: %w", err)
		}
	}
	return nil
}

// remove deletes exactly the keys populate made.
func (f limiterFill) remove(ctx context.Context) error {
	for lo := 1; lo <= f.n; lo += 1000 {
		var batch []string
		for i := lo; i < lo+1000 && i <= f.n; i++ {
			batch = append(batch, f.keys(i)[0])
		}
		if err := f.rdb.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("delete limiter keys: %w", err)
		}
	}
	return nil
}

// sampleMemory is the mean MEMORY USAGE of up to n populated state keys.
func (f limiterFill) sampleMemory(ctx context.Context, n int) (float64, error) {
	step := max(1, f.n/n)
	var sum, cnt int64
	for i := 1; i <= f.n; i += step {
		b, err := f.rdb.MemoryUsage(ctx, f.keys(i)[0]).Result()
		if err != nil {
			return 0, err
		}
		sum += b
		cnt++
	}
	if cnt == 0 {
		return 0, nil
	}
	return float64(sum) / float64(cnt), nil
}
