package stacks

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testenv"
)

// Gateways reserving for the same order claim at the same moment, some on
// one account of the pool and some on another, all get the one reservation
// that won: the unique index on live claims refuses the others, which then
// return the winner. No second nonce is ever spent on one claim.
func TestReservationsForOneClaimOnTwoAccountsAgree(t *testing.T) {
	pool := testenv.MigratedPool(t)
	ctx := context.Background()
	accounts := []string{"ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM", "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"}
	ledgers := []*ledger{{pool: pool, address: accounts[0], accounts: accounts}, {pool: pool, address: accounts[1], accounts: accounts}}
	for round := range 20 {
		uuid := fmt.Sprintf("claim-%d", round)
		const racers = 8
		got := make([]*slot, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				l := ledgers[i%2]
				got[i], _, errs[i] = l.reserve(ctx, uuid, 1, 0, 0, 25, time.Now(), func(nonce uint64) ([]byte, string, uint64, error) {
					return []byte{byte(nonce)}, fmt.Sprintf("0x%064x", uint64(i)<<32|nonce), 1000, nil
				})
			})
		}
		close(start)
		wg.Wait()
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
			}
			if got[i].Address != got[0].Address || got[i].Nonce != got[0].Nonce || got[i].TxID != got[0].TxID {
				t.Fatalf("round %d: racer %d got %s nonce %d %s, racer 0 %s nonce %d %s", round, i,
					got[i].Address, got[i].Nonce, got[i].TxID, got[0].Address, got[0].Nonce, got[0].TxID)
			}
		}
		var live int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM stacks_executor_txs WHERE order_uuid = $1`, uuid).Scan(&live); err != nil || live != 1 {
			t.Fatalf("round %d: %d rows for the claim (%v), want 1", round, live, err)
		}
	}
	// Every account's nonces are contiguous from 0: no racer spent one.
	for _, a := range accounts {
		var n, maxNonce int64
		if err := pool.QueryRow(ctx, `SELECT count(*), COALESCE(max(nonce), -1) FROM stacks_executor_txs WHERE address = $1`, a).Scan(&n, &maxNonce); err != nil {
			t.Fatal(err)
		}
		if maxNonce != n-1 {
			t.Fatalf("account %s: %d nonces up to %d, want contiguous from 0", a, n, maxNonce)
		}
	}
}
