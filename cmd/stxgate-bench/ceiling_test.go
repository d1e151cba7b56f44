package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/loadkit"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// Ceiling (b)'s claim takes an open order once, like the gateway's claim.
func TestClaimOneClaimsAnOpenOrderOnce(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	now := time.Now().UTC()
	open := loadkit.Order("SP1", "c-1", now.Add(-time.Minute), now.Add(time.Hour))
	if err := loadkit.CopyOpenOrders(ctx, pool, 1, func(int) (ordersig.Order, string, string) { return open, "sig", "key:x" }); err != nil {
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
