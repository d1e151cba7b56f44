package clienttest

import (
	"context"
	"errors"
	"testing"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// The wallet reads its trail (all of it, or one key's) page by page; the
// operator's calls carry its token, and an empty token never leaves the client.
func TestAuditAndAdminCalls(t *testing.T) {
	const token = "op_sdk_0123456789abcdef0123456789abcdef"
	gw := testgateway.Start(t, func(c *config.Config) { c.OperatorToken = token })
	ctx := context.Background()
	k, err := stacks.ParsePrivateKey(testgateway.PrivA)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(gw.URL, client.WithSigner(client.PrivateKeySigner{Key: k}))
	created, err := c.CreateKey(ctx, client.CreateKeyRequest{Name: "bot", Permissions: []string{"execute"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminSuspendKey(ctx, token, created.KeyID, "sdk test"); err != nil {
		t.Fatal(err)
	}
	if k, err := c.AdminUnsuspendKey(ctx, token, created.KeyID, ""); err != nil || k.Status != "active" {
		t.Fatalf("unsuspend: %v %+v", err, k)
	}
	if _, err := c.AdminGetKey(ctx, "", created.KeyID); !errors.Is(err, client.ErrNoOperatorToken) {
		t.Fatalf("empty token: %v", err)
	}

	first, err := c.Audit(ctx, client.AuditQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Events) != 2 || first.Events[0].Event != "key.unsuspended" || first.Events[1].Event != "key.suspended" ||
		first.Events[1].Details["reason"] != "sdk test" || first.Events[1].ClientIP != "" || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	rest, err := c.KeyAudit(ctx, created.KeyID, client.AuditQuery{Limit: 2, Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Events) != 1 || rest.Events[0].Event != "key.created" || rest.Events[0].Actor != "wallet:"+created.WalletAddress ||
		rest.Events[0].KeyID != created.KeyID || rest.Events[0].ClientIP != "127.0.0.1" || rest.NextCursor != "" {
		t.Fatalf("second page %+v", rest)
	}
	op, err := c.AdminKeyAudit(ctx, token, created.KeyID, client.AuditQuery{})
	if err != nil || len(op.Events) != 3 || op.Events[0].ClientIP != "127.0.0.1" {
		t.Fatalf("operator's view: %v %+v", err, op)
	}
}
