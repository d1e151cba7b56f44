package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
)

// TestExecuteLoad is a measurement, not a test: the execute path's store
// work (claim, then fill with its audit row, group-committed) from many
// workers, with the PostgreSQL CPU of this database's backends per execute.
// STXGATE_EXECLOAD=seconds runs it (go test -run TestExecuteLoad -v);
// STXGATE_EXECLOAD_ONESTEP=1 measures ClaimFill instead.
func TestExecuteLoad(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("STXGATE_EXECLOAD"))
	if secs <= 0 {
		t.Skip("STXGATE_EXECLOAD unset")
	}
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	s := postgres.New(pool)
	const n = 200_000
	_, err := pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
		direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, created_at, updated_at)
		SELECT 'o-' || g, 'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'sig', now() - interval '1 hour', now() + interval '1 day',
			'open', 'test', now(), now()
		FROM generate_series(1, $1) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE orders`); err != nil {
		t.Fatal(err)
	}
	workers, _ := strconv.Atoi(os.Getenv("STXGATE_EXECLOAD_WORKERS"))
	if workers <= 0 {
		workers = 32
	}
	// Warm every connection so that all backends exist before measuring.
	var wg sync.WaitGroup
	for range workers + 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = pool.Exec(ctx, `SELECT pg_sleep(0.05)`) }()
	}
	wg.Wait()
	cpu := func() (ours, all float64) {
		rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			t.Fatal(err)
		}
		pids := map[string]bool{}
		for rows.Next() {
			var p int
			_ = rows.Scan(&p)
			pids[strconv.Itoa(p)] = true
		}
		rows.Close()
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			comm := string(b[strings.IndexByte(string(b), '(')+1 : strings.LastIndexByte(string(b), ')')])
			if comm != "postgres" {
				continue
			}
			u, _ := strconv.ParseFloat(f[11], 64)
			st, _ := strconv.ParseFloat(f[12], 64)
			all += (u + st) / 100
			if pids[e.Name()] {
				ours += (u + st) / 100
			}
		}
		return
	}
	stat := func() (commits int64, wal int64) {
		if err := pool.QueryRow(ctx, `SELECT xact_commit, pg_current_wal_lsn() - '0/0'::pg_lsn
			FROM pg_stat_database WHERE datname = current_database()`).Scan(&commits, &wal); err != nil {
			t.Fatal(err)
		}
		return
	}
	// STXGATE_EXECLOAD_ONESTEP=1: ClaimFill (instant settlement) instead of Claim then Fill.
	oneStep := os.Getenv("STXGATE_EXECLOAD_ONESTEP") == "1"
	var next, done atomic.Int64
	stop := time.Now().Add(time.Duration(secs) * time.Second)
	o0, a0 := cpu()
	c0, w0 := stat()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				i := next.Add(1)
				if i > n {
					return
				}
				uuid := fmt.Sprintf("o-%d", i)
				if oneStep {
					ev := &audit.Event{At: time.Now(), Event: audit.OrderExecuted, KeyID: "k1", Actor: "key:k1",
						ClientIP: "127.0.0.1", RequestID: "r", Details: map[string]any{"txid": "0x" + strings.Repeat("a", 64)}}
					if _, err := s.ClaimFill(ctx, uuid, "key:1", "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", time.Now(),
						"0x"+strings.Repeat("a", 64), "simulated", time.Now(), ev); err != nil {
						t.Error(err)
						return
					}
					done.Add(1)
					continue
				}
				if _, err := s.Claim(ctx, uuid, "key:1", "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", time.Now()); err != nil {
					t.Error(err)
					return
				}
				ev := &audit.Event{At: time.Now(), Event: audit.OrderExecuted, KeyID: "k1", Actor: "key:k1",
					ClientIP: "127.0.0.1", RequestID: "r", Details: map[string]any{"txid": "0x" + strings.Repeat("a", 64)}}
				if _, err := s.Fill(ctx, uuid, "0x"+strings.Repeat("a", 64), "simulated", time.Now(), ev); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	o1, a1 := cpu()
	c1, w1 := stat()
	k := float64(done.Load())
	cs, fs := s.ClaimStats(), s.FillStats()
	if oneStep {
		cs = s.ClaimFillStats()
		fs = cs
	}
	t.Logf("executes %d in %v: %.0f/s; PG CPU per execute: our backends %.0f µs, all postgres %.0f µs; commits/execute %.2f; WAL/execute %.0f B; claim batch %.1f, fill batch %.1f",
		done.Load(), el.Round(time.Millisecond), k/el.Seconds(), (o1-o0)/k*1e6, (a1-a0)/k*1e6,
		float64(c1-c0)/k, float64(w1-w0)/k, float64(cs.Inputs)/float64(cs.Batches), float64(fs.Inputs)/float64(fs.Batches))
}
