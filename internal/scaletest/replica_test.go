package scaletest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
)

// TestPublicReadsUseReplica points DATABASE_READ_URL at a second database
// that does not replicate anything, so where each read went is visible:
// public reads go to the replica, executions read the primary.
func TestPublicReadsUseReplica(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig(t)
	cfg.DatabaseURL = testenv.PostgresDSN(t)
	cfg.DatabaseReadURL = testenv.PostgresDSN(t)
	cfg.RedisURL = testenv.RedisURL(t)
	_, cfg.RedisPrefix = testenv.Redis(t)

	// The "replica" has the schema but none of the primary's rows.
	admin, err := postgres.Connect(ctx, cfg.DatabaseReadURL, postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := postgres.Migrate(ctx, admin); err != nil {
		t.Fatal(err)
	}
	g := startInProcess(t, cfg, app.Options{})
	w := signer(t)
	owner := g.Client(t, client.WithSigner(w))
	k := testgateway.NewKey(t, owner, "trader", "create", "execute")
	trader := g.Client(t, client.WithAPIKey(k.APIKey), client.WithSigner(w))
	o, _, err := trader.CreateOrder(ctx, newOrder(t))
	if err != nil {
		t.Fatal(err)
	}

	// Not on the replica yet: the public read says so...
	_, _, err = owner.GetOrder(ctx, o.UUID)
	if st, msg := apiStatus(t, err); st != http.StatusNotFound || msg != "Order not found" {
		t.Fatalf("read before replication: %d %q, want 404", st, msg)
	}
	// ...but execution reads the primary, never a lagging replica.
	ex, _, err := trader.ExecuteOrder(ctx, o.UUID)
	if err != nil {
		t.Fatalf("execute with a lagging replica: %v", err)
	}

	// "Replicate" the row: now the public reads find it.
	primary, err := postgres.Connect(ctx, cfg.DatabaseURL, postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	row, err := postgres.New(primary).OrderByUUID(ctx, o.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.New(admin).InsertOrder(ctx, row, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := owner.GetOrder(ctx, o.UUID)
	if err != nil || got.Status != "filled" || got.TxID == nil || *got.TxID != ex.TxID {
		t.Fatalf("read after replication: %+v %v, want filled %s", got, err, ex.TxID)
	}
	page, _, err := owner.ListOrders(ctx, client.ListOrdersRequest{Owner: o.Owner})
	if err != nil || len(page.Orders) != 1 || page.Orders[0].UUID != o.UUID {
		t.Fatalf("list after replication: %+v %v", page, err)
	}

	// A replica pool refuses writes, so a misrouted write cannot go unnoticed.
	ro, err := postgres.Connect(ctx, cfg.DatabaseReadURL, postgres.PoolConfig{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, err = ro.Exec(ctx, "DELETE FROM orders")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" { // read_only_sql_transaction
		t.Fatalf("write on the read-only pool: %v, want SQLSTATE 25006", err)
	}
}
