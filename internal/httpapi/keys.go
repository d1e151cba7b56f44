package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/client"
)

// KeyView is a key as clients see it: never the secret, never its hash.
// id and keyId carry the same value (the reference docs use both).
type KeyView struct {
	ID            string        `json:"id"`
	KeyID         string        `json:"keyId"`
	WalletAddress string        `json:"walletAddress"`
	Name          string        `json:"name"`
	Prefix        string        `json:"prefix"`
	Status        apikey.Status `json:"status"`
	Permissions   []string      `json:"permissions"`
	RateLimit     int           `json:"rateLimit"`
	RateLimits    apikey.Limits `json:"rateLimits"`
	IPAllowlist   []string      `json:"ipAllowlist"`
	ExpiresAt     *string       `json:"expiresAt"`
	CreatedAt     string        `json:"createdAt"`
	UpdatedAt     string        `json:"updatedAt"`
	RevokedAt     *string       `json:"revokedAt"`
	LastUsedAt    *string       `json:"lastUsedAt"`
	UsageStats    apikey.Usage  `json:"usageStats"`
	RotatedFrom   *string       `json:"rotatedFrom"` // the key this one replaced
	RotatedTo     *string       `json:"rotatedTo"`   // the key that replaced this one
}

func (s *Server) keyView(k *apikey.Key) KeyView {
	allow := make([]string, len(k.IPAllowlist))
	for i, p := range k.IPAllowlist {
		allow[i] = p.String()
	}
	return KeyView{
		ID:            k.ID,
		KeyID:         k.ID,
		WalletAddress: k.WalletAddress,
		Name:          k.Name,
		Prefix:        k.Prefix,
		Status:        k.EffectiveStatus(s.now()),
		Permissions:   permStrings(k.Permissions),
		RateLimit:     k.Limits.Minute,
		RateLimits:    k.Limits,
		IPAllowlist:   allow,
		ExpiresAt:     formatTimePtr(k.ExpiresAt),
		CreatedAt:     formatTime(k.CreatedAt),
		UpdatedAt:     formatTime(k.UpdatedAt),
		RevokedAt:     formatTimePtr(k.RevokedAt),
		LastUsedAt:    formatTimePtr(k.LastUsedAt),
		UsageStats:    k.Usage,
		RotatedFrom:   optional(k.RotatedFrom),
		RotatedTo:     optional(k.RotatedTo),
	}
}

func permStrings(ps []apikey.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// CreatedKey is the 201 answer to a create: the only time apiKey is shown.
type CreatedKey struct {
	APIKey string `json:"apiKey"`
	KeyView
}

// createKey: POST /api/v1/api-keys, signed create_api_key
// {keyName, permissions, ipAllowlist?, expiresAt?}.
func (s *Server) createKey(c echo.Context) error {
	m, err := s.verifySigned(c, ClassSignedWrite, walletauth.ActionCreateKey)
	if err != nil {
		return err
	}
	in := apikey.CreateInput{Wallet: m.Address(), Claim: s.claimer(m)}
	if err := m.Field("keyName", &in.Name); err != nil {
		return err
	}
	if err := m.Field("permissions", &in.Permissions); err != nil {
		return err
	}
	if m.Has("ipAllowlist") {
		if err := m.Field("ipAllowlist", &in.IPAllowlist); err != nil {
			return err
		}
	}
	if m.Has("expiresAt") {
		t, err := messageTime(m, "expiresAt")
		if err != nil {
			return err
		}
		in.ExpiresAt = &t
	}
	k, secret, err := s.keys.Create(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return s.newKey(c, k, secret)
}

// newKey answers 201 with a new key and the only copy of its secret.
func (s *Server) newKey(c echo.Context, k *apikey.Key, secret apikey.Secret) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, CreatedKey{APIKey: secret.String(), KeyView: s.keyView(k)})
}

// signedForKey verifies a single-use message of action naming the URL's key.
func (s *Server) signedForKey(c echo.Context, action string) (*walletauth.Message, error) {
	m, err := s.verifySigned(c, ClassSignedWrite, action)
	if err != nil {
		return nil, err
	}
	if err := matchKeyID(c, m); err != nil {
		return nil, err
	}
	return m, nil
}

// rotateKey: POST /api/v1/api-keys/:keyId/rotate, signed rotate_api_key
// {keyId, graceSeconds?}: 201 like a create, with rotatedFrom.
func (s *Server) rotateKey(c echo.Context) error {
	m, err := s.signedForKey(c, walletauth.ActionRotateKey)
	if err != nil {
		return err
	}
	in := apikey.RotateInput{Wallet: m.Address(), ID: c.Param("keyId"), Claim: s.claimer(m)}
	if m.Has("graceSeconds") {
		secs, err := graceSeconds(m)
		if err != nil {
			return err
		}
		in.Grace = time.Duration(secs) * time.Second
	}
	k, _, secret, err := s.keys.Rotate(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return s.newKey(c, k, secret)
}

// graceSeconds reads message.graceSeconds: a JSON integer of seconds (a
// string, a fraction or an exponent is refused, as for timestamp).
func graceSeconds(m *walletauth.Message) (int64, error) {
	limit := int64(apikey.MaxGrace / time.Second)
	bad := fault.Invalidf("message.graceSeconds", "message.graceSeconds must be an integer from 0 to %d", limit)
	var v any
	if err := m.Field("graceSeconds", &v); err != nil {
		return 0, bad
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, bad
	}
	secs, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || secs < 0 || secs > limit {
		return 0, bad
	}
	return secs, nil
}

// readingWallet is the wallet whose keys or trail a read serves: the
// calling key's, when it holds read, else the signer's of a message of action.
func (s *Server) readingWallet(c echo.Context, action string) (string, error) {
	if k := keyFrom(c); k != nil {
		if !k.Has(apikey.PermRead) {
			return "", errMissingPermission(apikey.PermRead)
		}
		return k.WalletAddress, nil
	}
	m, err := s.verifySigned(c, ClassSignedRead, action)
	if err != nil {
		return "", err
	}
	return m.Address(), nil
}

// getKey: GET /api/v1/api-keys/:keyId, signed get_api_key {keyId} or a list_api_keys message.
func (s *Server) getKey(c echo.Context) error {
	k, err := s.signedReadKey(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.keyView(k))
}

// signedReadKey is the URL's key, read by its wallet: a get_api_key message
// naming it, or a list_api_keys message (reusable in its window). Another
// wallet's key is "not found".
func (s *Server) signedReadKey(c echo.Context) (*apikey.Key, error) {
	m, err := s.verifySigned(c, ClassSignedRead, walletauth.ActionGetKey, walletauth.ActionListKeys)
	if err != nil {
		return nil, err
	}
	if m.Action == walletauth.ActionGetKey {
		if err := matchKeyID(c, m); err != nil {
			return nil, err
		}
	}
	return s.keys.Get(c.Request().Context(), m.Address(), c.Param("keyId"))
}

// updateKey: PATCH /api/v1/api-keys/:keyId, signed update_api_key
// {keyId, keyName?, permissions?, ipAllowlist?}.
func (s *Server) updateKey(c echo.Context) error {
	m, err := s.signedForKey(c, walletauth.ActionUpdateKey)
	if err != nil {
		return err
	}
	in := apikey.UpdateInput{Claim: s.claimer(m)}
	if m.Has("keyName") {
		in.Name = new(string)
		if err := m.Field("keyName", in.Name); err != nil {
			return err
		}
	}
	if m.Has("permissions") {
		in.Permissions = new([]string)
		if err := m.Field("permissions", in.Permissions); err != nil {
			return err
		}
	}
	if m.Has("ipAllowlist") {
		in.IPAllowlist = new([]string)
		if err := m.Field("ipAllowlist", in.IPAllowlist); err != nil {
			return err
		}
	}
	k, err := s.keys.Update(c.Request().Context(), m.Address(), c.Param("keyId"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.keyView(k))
}

// deleteKey: DELETE /api/v1/api-keys/:keyId, signed delete_api_key {keyId}.
func (s *Server) deleteKey(c echo.Context) error {
	m, err := s.signedForKey(c, walletauth.ActionDeleteKey)
	if err != nil {
		return err
	}
	k, err := s.keys.Revoke(c.Request().Context(), m.Address(), c.Param("keyId"), s.claimer(m))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": fmt.Sprintf("API key '%s' has been revoked", k.Name)})
}

// SelfView is /self: the key's view plus the state of every window, counting
// this request. The key comes from the cache: no database read for a hot key.
// A window's state is the SDK's type: one wire type on both sides.
type SelfView struct {
	KeyView
	RateLimitState map[string]client.WindowState `json:"rateLimitState"`
}

// selfView is the /self answer for k with the windows of its decision.
func (s *Server) selfView(k *apikey.Key, ws []ratelimit.WindowState) SelfView {
	state := make(map[string]client.WindowState, len(ws))
	for _, w := range ws {
		state[w.Name] = client.WindowState{Limit: w.Limit, Remaining: w.Remaining, Reset: ceilUnix(w.Reset), Window: int(w.Size / time.Second)}
	}
	return SelfView{KeyView: s.keyView(k), RateLimitState: state}
}

// selfKey: GET /api/v1/api-keys/self, the calling key's own view.
func (s *Server) selfKey(c echo.Context) error {
	res := keyResult(c)
	if c.Request().URL.RawQuery == "" { // the hot path (selfjson.go); ?pretty and the like go through c.JSON
		return s.writeSelf(c, res.Key, res.Decision)
	}
	return c.JSON(http.StatusOK, s.selfView(res.Key, res.Decision.Windows))
}

// claimer makes the single-use check of m, run by the service just before it writes.
func (s *Server) claimer(m *walletauth.Message) func(context.Context) error {
	return func(ctx context.Context) error { return s.wallets.Claim(ctx, m) }
}

// matchKeyID binds a signed message to the key in the URL.
func matchKeyID(c echo.Context, m *walletauth.Message) error {
	var id string
	if err := m.Field("keyId", &id); err != nil {
		return err
	}
	if id != c.Param("keyId") {
		return fault.Invalid("message.keyId", "message.keyId does not match the key in the URL")
	}
	return nil
}

// messageTime reads an RFC 3339 string (or milliseconds since the epoch).
func messageTime(m *walletauth.Message, field string) (time.Time, error) {
	var v any
	if err := m.Field(field, &v); err != nil {
		return time.Time{}, err
	}
	switch v := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			return t, nil
		}
	case interface{ Int64() (int64, error) }:
		if ms, err := v.Int64(); err == nil && ms > 0 {
			return time.UnixMilli(ms), nil
		}
	}
	return time.Time{}, fault.Invalidf("message."+field, "message.%s must be an RFC 3339 time", field)
}
