package postgres

import (
	"context"
	"fmt"

	"github.com/stxgate/stxgate/internal/audit"
)

// appendAudit writes e in the transaction (or statement batch) of db: the
// change it records and the event commit together or not at all.
func appendAudit(ctx context.Context, db DBTX, e *audit.Event) error {
	details, err := audit.CheckEncode(e)
	if err != nil {
		return err
	}
	const q = `INSERT INTO audit_events (at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details)
		VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, NULLIF($7, '')::inet, NULLIF($8, ''), $9::jsonb)
		RETURNING id`
	if err := db.QueryRow(ctx, q, e.At, e.Wallet, e.Event, e.KeyID, e.OrderUUID, e.Actor, e.ClientIP, e.RequestID,
		string(details)).Scan(&e.ID); err != nil {
		return classify(fmt.Errorf("insert audit event: %w", err))
	}
	return nil
}
