package clienttest

import (
	"context"
	"errors"
	"testing"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
)

// The wallet reads its trail (all of it, or one key's) page by page; the
// operator's calls carry its token, and an empty token never leaves the client.
func TestAuditAndAdminCalls(t *testing.T) {
	const token = "op_sdk_0123456789abcdef0123456789abcdef"
	gw := testgateway.Start(t, func(c *config.Config) { c.OperatorToken = token })
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	c := gw.Wallet(t, k)
	created := testgateway.NewKey(t, c, "bot", "execute")
	operator := gw.Client(t, client.WithOperatorToken(token))
	if _, _, err := operator.AdminSuspendKey(ctx, created.KeyID, "sdk test"); err != nil {
		t.Fatal(err)
	}
	if k, _, err := operator.AdminUnsuspendKey(ctx, created.KeyID, ""); err != nil || k.Status != client.KeyActive {
		t.Fatalf("unsuspend: %v %+v", err, k)
	}
	if k, resp, err := c.AdminGetKey(ctx, created.KeyID); k != nil || resp != nil || !errors.Is(err, client.ErrNoOperatorToken) {
		t.Fatalf("no operator token: %v %v %v", k, resp, err)
	}
	if _, _, err := gw.Client(t, client.WithOperatorToken(" ")).AdminGetKey(ctx, created.KeyID); !errors.Is(err, client.ErrNoOperatorToken) {
		t.Fatalf("blank operator token: %v", err)
	}
	_, _, err := gw.Client(t, client.WithOperatorToken("op_wrong")).AdminGetKey(ctx, created.KeyID)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != client.CodeOperatorToken {
		t.Fatalf("wrong operator token: %v", err)
	}

	first, _, err := c.Audit(ctx, client.AuditQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Events) != 2 || first.Events[0].Event != "key.unsuspended" || first.Events[1].Event != "key.suspended" ||
		first.Events[1].Details["reason"] != "sdk test" || first.Events[1].ClientIP != "" || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	rest, _, err := c.KeyAudit(ctx, created.KeyID, client.AuditQuery{Limit: 2, Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Events) != 1 || rest.Events[0].Event != "key.created" || rest.Events[0].Actor != "wallet:"+created.WalletAddress ||
		rest.Events[0].KeyID != created.KeyID || rest.Events[0].ClientIP != "127.0.0.1" || rest.NextCursor != "" {
		t.Fatalf("second page %+v", rest)
	}
	op, _, err := operator.AdminKeyAudit(ctx, created.KeyID, client.AuditQuery{})
	if err != nil || len(op.Events) != 3 || op.Events[0].ClientIP != "127.0.0.1" {
		t.Fatalf("operator's view: %v %+v", err, op)
	}
}
