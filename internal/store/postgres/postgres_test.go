package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
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
