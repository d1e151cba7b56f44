package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/testenv"
)

// Ceiling (b)'s claim takes an open order once, like the gateway's claim.
func TestClaimOneClaimsAnOpenOrderOnce(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	now := time.Now().UTC()
	_, err := pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
			direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, attempts,
			created_at, updated_at)
		VALUES ('c-1', 'SP1', 'SP1.a', 'SP1.b', 1, '1', 'gt', 'SP1.a', 'SP1', 'sig', $1, $2, 'open', 'key:x', 0, $1, $1)`,
		now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if uuid, err := claimOne(ctx, pool, "c-1", now); err != nil || uuid != "c-1" {
		t.Fatalf("first claim: %q, %v", uuid, err)
	}
	var status, by string
	var attempts int
	if err := pool.QueryRow(ctx, `SELECT status, executed_by, attempts FROM orders WHERE uuid = 'c-1'`).Scan(&status, &by, &attempts); err != nil {
		t.Fatal(err)
	}
	if status != "executing" || by != "ceiling" || attempts != 1 {
		t.Fatalf("after the claim: %s %s %d", status, by, attempts)
	}
	if _, err := claimOne(ctx, pool, "c-1", now); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("second claim: %v, want no rows", err)
	}
}
