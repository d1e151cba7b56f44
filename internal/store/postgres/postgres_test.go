package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit/auditpg"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/store/storetest"
	"github.com/stxgate/stxgate/internal/testenv"
)

// newStore gives each test its own migrated database.
func newStore(t *testing.T) *postgres.Store { return postgres.New(testenv.MigratedPool(t)) }

func TestKeyStoreConformance(t *testing.T) {
	storetest.RunKeyStore(t, func(t *testing.T) apikey.Store { return newStore(t) })
}

func TestAuditedChanges(t *testing.T) {
	storetest.RunAudited(t, func(t *testing.T) storetest.Stores {
		pool := testenv.MigratedPool(t)
		s := postgres.New(pool)
		return storetest.Stores{Keys: s, Orders: s, Trail: auditpg.New(pool)}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	for i := range 2 {
		if err := postgres.Migrate(ctx, pool); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestOrderStoreConformance(t *testing.T) {
	storetest.RunOrderStore(t, func(t *testing.T) order.Store { return newStore(t) })
}

// One sweep statement expires at most order.ExpireBatch orders; the service loops.
func TestExpireWorksInBoundedBatches(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const n = 2100
	_, err := s.Pool().Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
		direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, created_at, updated_at)
		SELECT 'o-' || g, 'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'sig', now() - interval '2 hours', now() - interval '1 hour',
			'open', 'test', now(), now()
		FROM generate_series(1, $1) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for {
		k, err := s.Expire(ctx, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
		if k < order.ExpireBatch {
			break
		}
	}
	if fmt.Sprint(got) != "[1000 1000 100]" {
		t.Fatalf("batches %v, want [1000 1000 100]", got)
	}
}

// Two gateways (two stores, two pools, each group-committing its own claims
// and fills) race on the same orders, batches overlapping in every order:
// each order is claimed and filled exactly once, the owner check holds per
// request inside a batch, and the sorted row locks mean no batch ever fails
// with a deadlock.
func TestGroupCommitAcrossGateways(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	other, err := postgres.Connect(ctx, pool.Config().ConnString(), postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	stores := []*postgres.Store{postgres.New(pool), postgres.New(other)}

	const (
		orders  = 60
		perSide = 4 // claimers per order on each gateway; half of them with the wrong owner
		owner   = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	)
	_, err = pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
		direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, created_at, updated_at)
		SELECT 'gc-' || lpad(g::text, 3, '0'), $2, 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			$2, 'sig', now() - interval '1 hour', now() + interval '1 hour', 'open', 'test', now(), now()
		FROM generate_series(1, $1) g`, orders, owner)
	if err != nil {
		t.Fatal(err)
	}
	uuidOf := func(i int) string { return fmt.Sprintf("gc-%03d", i+1) }

	type attempt struct {
		order, store int
		owner, actor string
	}
	var attempts []attempt
	for i := range orders {
		for st := range stores {
			for k := range perSide {
				a := attempt{order: i, store: st, owner: owner, actor: fmt.Sprintf("key:s%d-%d", st, k)}
				if k%2 == 1 {
					a.owner = "SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7" // another wallet's key
				}
				attempts = append(attempts, a)
			}
		}
	}
	// Interleave so that each batch mixes many orders, in a different order
	// on each gateway.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(attempts), func(i, j int) { attempts[i], attempts[j] = attempts[j], attempts[i] })

	winners := make([]atomic.Int32, orders)
	winnerActor := make([]atomic.Value, orders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, a := range attempts {
		wg.Go(func() {
			<-start
			o, err := stores[a.store].Claim(ctx, uuidOf(a.order), a.actor, a.owner, time.Now())
			switch {
			case err == nil:
				if a.owner != owner {
					t.Errorf("%s: claimed by another wallet's key %s", uuidOf(a.order), a.actor)
				}
				if o.UUID != uuidOf(a.order) || o.Status != order.StatusExecuting || o.ExecutedBy != a.actor {
					t.Errorf("%s: claim returned %s %s executedBy %s", uuidOf(a.order), o.UUID, o.Status, o.ExecutedBy)
				}
				winners[a.order].Add(1)
				winnerActor[a.order].Store(a.actor)
			case errors.Is(err, order.ErrNotOpen):
			default:
				t.Errorf("%s: claim: %v", uuidOf(a.order), err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range orders {
		if n := winners[i].Load(); n != 1 {
			t.Fatalf("%s: %d claims won, want exactly 1", uuidOf(i), n)
		}
	}

	// Every order is filled from both gateways at once, twice each.
	fills := make([]atomic.Int32, orders)
	start = make(chan struct{})
	for i := range orders {
		for k := range 4 {
			wg.Go(func() {
				<-start
				_, err := stores[k%2].Fill(ctx, uuidOf(i), fmt.Sprintf("0x%064x", i+1), "relayer", time.Now(), nil)
				switch {
				case err == nil:
					fills[i].Add(1)
				case errors.Is(err, order.ErrNotPending):
				default:
					t.Errorf("%s: fill: %v", uuidOf(i), err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i := range orders {
		o, err := stores[0].OrderByUUID(ctx, uuidOf(i))
		if err != nil {
			t.Fatal(err)
		}
		if fills[i].Load() != 1 || o.Status != order.StatusFilled || o.Attempts != 1 ||
			o.TxID != fmt.Sprintf("0x%064x", i+1) || o.ExecutedBy != winnerActor[i].Load() {
			t.Fatalf("%s: %d fills won; stored %s attempts %d txid %s executedBy %s (claim winner %v)",
				uuidOf(i), fills[i].Load(), o.Status, o.Attempts, o.TxID, o.ExecutedBy, winnerActor[i].Load())
		}
	}
	// A deadlock would not show above (the batch is retried one claim at a
	// time and still answers right): it shows as a split.
	for i, s := range stores {
		claims, fills := s.ClaimStats(), s.FillStats()
		t.Logf("gateway %d: claims %+v, fills %+v", i, claims, fills)
		if claims.Splits != 0 || fills.Splits != 0 {
			t.Errorf("gateway %d: %d claim and %d fill batches failed and were split (deadlock?)", i, claims.Splits, fills.Splits)
		}
		if claims.Inputs != orders*perSide || claims.Batches >= claims.Inputs {
			t.Errorf("gateway %d: %d claims in %d batches: want %d claims, grouped", i, claims.Inputs, claims.Batches, orders*perSide)
		}
	}
}

// Callers that cancel their contexts while their claims are queued or in a
// group-committed batch are told exactly what happened: a claim reported
// cancelled left its order open, a claim reported done left it executing
// (issue 13 item 7: before, a caller cancelled while its batch was in flight
// heard "canceled" about a claim that batch then committed, and the execute
// answered 5xx for an order that went on to settle).
//
// Another transaction holds every order's row lock, so the first batches
// stay in flight (waiting for the lock) while the rest queue; every caller
// then cancels, and the lock is released.
func TestCancelledClaimsReportWhatWasCommitted(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	store := postgres.New(pool)
	const (
		orders = 200
		owner  = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	)
	_, err := pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
		direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, created_at, updated_at)
		SELECT 'cc-' || lpad(g::text, 3, '0'), $2, 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			$2, 'sig', now() - interval '1 hour', now() + interval '1 hour', 'open', 'test', now(), now()
		FROM generate_series(1, $1) g`, orders, owner)
	if err != nil {
		t.Fatal(err)
	}
	uuidOf := func(i int) string { return fmt.Sprintf("cc-%03d", i+1) }
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `SELECT uuid FROM orders ORDER BY uuid FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	errs := make([]error, orders)
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() { _, errs[i] = store.Claim(cctx, uuidOf(i), "key:k", owner, time.Now()) })
	}
	// Both batch slots are in flight once two statements wait for the lock.
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting < 2; {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d claim batches wait for the row lock, want 2", waiting)
		}
	}
	cancel()
	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var claimed, cancelled int
	for i := range orders {
		o, err := store.OrderByUUID(ctx, uuidOf(i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case errs[i] == nil:
			claimed++
			if o.Status != order.StatusExecuting {
				t.Errorf("%s: claim reported done, stored %s", uuidOf(i), o.Status)
			}
		case errors.Is(errs[i], context.Canceled):
			cancelled++
			if o.Status != order.StatusOpen {
				t.Errorf("%s: claim reported cancelled, but the order is %s (committed)", uuidOf(i), o.Status)
			}
		default:
			t.Errorf("%s: claim: %v", uuidOf(i), errs[i])
		}
	}
	t.Logf("%d claims done (their batch was in flight when they cancelled), %d cancelled while queued; %+v",
		claimed, cancelled, store.ClaimStats())
	if claimed < 2 || cancelled == 0 {
		t.Fatalf("%d done, %d cancelled: the race did not exercise both outcomes", claimed, cancelled)
	}
}

func TestEventLogConformance(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) storetest.EventStore { return newStore(t) })
}
