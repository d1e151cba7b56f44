package httpapi

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/keyauth"
)

type keyCtx struct{}

// withKey stores the authenticated key and its limiter decision in the
// request context (typed key, never c.Get("key").(*Thing)).
func withKey(c echo.Context, res *keyauth.Result) {
	if st := requestOf(c); st != nil {
		st.key.Store(res)
		return
	}
	r := c.Request()
	c.SetRequest(r.WithContext(context.WithValue(r.Context(), keyCtx{}, res)))
}

// keyFrom returns the authenticated key of the request, or nil.
func keyFrom(c echo.Context) *apikey.Key {
	if res := keyResult(c); res != nil {
		return res.Key
	}
	return nil
}

// keyResult returns the authentication result of a keyed request, or nil.
func keyResult(c echo.Context) *keyauth.Result {
	res, _ := c.Request().Context().Value(keyCtx{}).(*keyauth.Result)
	return res
}

var (
	errKeyRequired   = fault.Unauthenticated("API key required").WithCode(fault.CodeAPIKeyRequired)
	errKeysDisagree  = fault.Invalid("X-API-Key", "X-API-Key and Authorization carry different API keys").WithCode(fault.CodeAPIKeyHeadersDiffer)
	errAuthorization = fault.Invalid("Authorization", "Authorization must be \"ApiKey <key>\" or \"Bearer <key>\"")
)

// hdrAPIKey is X-API-Key in canonical form: Header.Get canonicalises a name
// it is given, and "X-API-Key" is not canonical (a new string per request).
const hdrAPIKey = "X-Api-Key"

// presentedKey reads the key from X-API-Key or "Authorization: ApiKey <key>"
// ("Bearer" is accepted too). ok is false when neither header is present.
func presentedKey(c echo.Context) (key string, ok bool, err error) {
	h := c.Request().Header
	fromHeader := strings.TrimSpace(h.Get(hdrAPIKey))
	var fromAuth string
	if auth := strings.TrimSpace(h.Get(echo.HeaderAuthorization)); auth != "" {
		scheme, rest, found := strings.Cut(auth, " ")
		if !found || !(strings.EqualFold(scheme, "ApiKey") || strings.EqualFold(scheme, "Bearer")) {
			return "", false, errAuthorization
		}
		fromAuth = strings.TrimSpace(rest)
	}
	switch {
	case fromHeader != "" && fromAuth != "" && fromHeader != fromAuth:
		return "", false, errKeysDisagree
	case fromHeader != "":
		return fromHeader, true, nil
	case fromAuth != "":
		return fromAuth, true, nil
	}
	return "", false, nil
}
