package postgres

import (
	"context"

	"github.com/stxgate/stxgate/internal/order"
)

// InsertOrderIn runs InsertOrder's statement (the order and its event) in
// db, a transaction the test holds open.
func (s *Store) InsertOrderIn(ctx context.Context, db DBTX, o *order.Order) error {
	return s.insertOrder(ctx, db, o, nil)
}
