package loadkit

import (
	"context"
	"fmt"

	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// CreateKeys creates n keys of wallet through the gateway's API on addr
// (wallet-signed create_api_key, as a user would), each allowed to create,
// execute and cancel, key j named name(j).
func CreateKeys(ctx context.Context, addr string, wallet *stacks.PrivateKey, n int, name func(j int) string) ([]*client.CreatedKey, error) {
	c, err := client.New(ctx, addr, client.WithSigner(client.PrivateKeySigner{Key: wallet}))
	if err != nil {
		return nil, err
	}
	keys := make([]*client.CreatedKey, n)
	for j := range keys {
		keys[j], _, err = c.CreateKey(ctx, client.CreateKeyRequest{
			Name:        name(j),
			Permissions: []client.Permission{client.PermissionCreate, client.PermissionExecute, client.PermissionCancel},
		})
		if err != nil {
			return nil, fmt.Errorf("create key through the API: %w", err)
		}
	}
	return keys, nil
}
