package postgres_test

import (
	"context"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/store/storetest"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/migrations"
)

// A database migrated before 00006 and 00007 landed (they landed after
// 00010 and 00011) takes them late, and ends as a fresh one: goose refused
// them before ("missing (out-of-order) migration lower than database
// version"), and 00006 applied after 00011 must keep 00011's events.
func TestMigrateAppliesMigrationsThatLandedLate(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	migrateWithout(t, pool, "00006_", "00007_")

	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate a database that is past 00006 and 00007: %v", err)
	}
	var check string
	if err := pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'audit_events_event_check'`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	for _, event := range []string{"'key.rotated'", "'order.filled'", "'order.reopened'"} {
		if !strings.Contains(check, event) {
			t.Errorf("audit event check %s lacks %s", check, event)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'api_keys' AND column_name IN ('rotated_from', 'rotated_to')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("api_keys rotation columns: %d, %v", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM order_events`).Scan(&n); err != nil {
		t.Fatalf("order_events after the late 00007: %v", err)
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("again: %v", err)
	}
}

// 00013 numbers events by transaction id from then on; every id the counter
// of 00007 handed out before stays below every new one, even a counter far
// ahead of the transaction ids.
func TestMigrateKeepsCounterIDsBelowNewOnes(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, testenv.PostgresDSN(t), postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migrateWithout(t, pool, "00013_")
	// The counter's last id: 5,000,000 above what the next xid would give.
	var last int64
	if err := pool.QueryRow(ctx, `UPDATE order_event_counter
		SET last_id = (pg_current_xact_id()::text::bigint + 10) * 1024 + 5000000 RETURNING last_id`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO order_events (id, order_uuid, owner, type, data, created_at)
		VALUES ($1, 'ev-old', 'SPA', 'created', '{"UUID": "ev-old", "Owner": "SPA"}', now())`, last); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool)
	if err := s.InsertOrder(ctx, storetest.NewTestOrder("ev-new", "SPA"), nil); err != nil {
		t.Fatal(err)
	}
	storetest.Settle(t, s)
	evs, err := s.EventsAfter(ctx, 0, "", 0)
	if err != nil || len(evs) != 2 || evs[0].ID != last || evs[1].Order.UUID != "ev-new" || evs[1].ID <= last {
		t.Fatalf("events after the migration: %+v, %v (counter was at %d)", evs, err, last)
	}
	if n, err := pool.Exec(ctx, `SELECT 1 FROM pg_class WHERE relname = 'order_event_counter'`); err != nil || n.RowsAffected() != 0 {
		t.Fatalf("the counter is still there: %v, %v", n, err)
	}
}

// migrateWithout applies every migration but those whose file names start
// with one of skip: a database as it stood before they landed.
func migrateWithout(t *testing.T, pool *pgxpool.Pool, skip ...string) {
	t.Helper()
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") || slices.ContainsFunc(skip, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(context.Background()); err != nil {
		t.Fatalf("the migrations without %q: %v", skip, err)
	}
}

// 00014's down migration turns the events written since into snapshots
// (data) again, from their state and their order's row, so a gateway from
// before 00014 reads them; applied again, events of both kinds read alike.
func TestMigrateEventStateColumnsDownAndUp(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	s := postgres.New(pool)
	o := storetest.NewTestOrder("ev-down", "SPA")
	if err := s.InsertOrder(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "ev-down", "key:k1", "", o.ValidFrom.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	storetest.Settle(t, s)
	before, err := s.EventsAfter(ctx, 0, "", 0)
	if err != nil || len(before) != 2 {
		t.Fatalf("events before: %+v, %v", before, err)
	}

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatalf("down to 00013: %v", err)
	}
	var status, inputToken string
	if err := pool.QueryRow(ctx, `SELECT data->>'Status', data->>'InputToken' FROM order_events WHERE type = 'executing'`).Scan(&status, &inputToken); err != nil ||
		status != "executing" || inputToken != o.InputToken {
		t.Fatalf("the executing event after the down migration: status %q, input token %q, %v", status, inputToken, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if _, err := s.Claim(ctx, "ev-down", "key:k1", "", o.ValidFrom.Add(time.Minute)); err == nil {
		t.Fatal("an executing order was claimed again after the round trip")
	}
	after, err := s.EventsAfter(ctx, 0, "", 0)
	if err != nil || len(after) != 2 {
		t.Fatalf("events after: %+v, %v", after, err)
	}
	for i := range before {
		if before[i].ID != after[i].ID || before[i].Type != after[i].Type || !before[i].At.Equal(after[i].At) ||
			!reflect.DeepEqual(before[i].Order, after[i].Order) {
			t.Errorf("event %d before the round trip %+v %+v, after %+v %+v", i, before[i], before[i].Order, after[i], after[i].Order)
		}
	}
}
