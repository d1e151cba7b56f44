package postgres_test

import (
	"context"
	"testing"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/store/storetest"
	"github.com/stxgate/stxgate/internal/testenv"
)

// newStore gives each test its own migrated database.
func newStore(t *testing.T) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, testenv.PostgresDSN(t), postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return postgres.New(pool)
}

func TestKeyStoreConformance(t *testing.T) {
	storetest.RunKeyStore(t, func(t *testing.T) apikey.Store { return newStore(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, testenv.PostgresDSN(t), postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i := range 2 {
		if err := postgres.Migrate(ctx, pool); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestOrderStoreConformance(t *testing.T) {
	storetest.RunOrderStore(t, func(t *testing.T) order.Store { return newStore(t) })
}
