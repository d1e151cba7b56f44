package order

import (
	"fmt"
	"slices"

	"github.com/stxgate/stxgate/internal/apikey"
)

// Caller is who asks for an order change: a wallet by its own signature, or
// an API key acting for its wallet with the key's permissions.
type Caller struct {
	Wallet      string              // the wallet it acts for: only that wallet's orders change
	KeyID       string              // the key presented; "" for a wallet-signed request
	Permissions []apikey.Permission // the key's permissions (a key caller only)
}

// KeyCaller is the caller presenting key k.
func KeyCaller(k *apikey.Key) Caller {
	return Caller{Wallet: k.WalletAddress, KeyID: k.ID, Permissions: k.Permissions}
}

// WalletCaller is a wallet acting by its own signature.
func WalletCaller(wallet string) Caller { return Caller{Wallet: wallet} }

// Actor is how the order records the caller: "key:<id>" or "wallet:<address>".
func (c Caller) Actor() string {
	if c.KeyID != "" {
		return "key:" + c.KeyID
	}
	return "wallet:" + c.Wallet
}

// may checks a key caller's permission; a wallet may do anything with its own orders.
func (c Caller) may(p apikey.Permission) error {
	if c.KeyID != "" && !slices.Contains(c.Permissions, p) {
		return &PermissionError{Permission: p}
	}
	return nil
}

// PermissionError: the caller's key lacks the permission the change needs.
type PermissionError struct{ Permission apikey.Permission }

func (e *PermissionError) Error() string {
	return fmt.Sprintf("API key lacks the %s permission", e.Permission)
}

// NotOwnerError: the order belongs to another wallet than the caller's.
type NotOwnerError struct {
	Caller Caller
	Order  string // uuid
	Owner  string // the order's owner
}

func (e *NotOwnerError) Error() string {
	return fmt.Sprintf("order %s belongs to %s, not to the caller's wallet %s", e.Order, e.Owner, e.Caller.Wallet)
}
