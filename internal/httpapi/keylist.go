package httpapi

import (
	"container/list"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// A wallet-signed list (GET /api/v1/api-keys) used to read the wallet's keys
// from PostgreSQL and render them on every request: a dashboard or bot
// polling its list cost a query and a JSON encoding each time. Each
// instance now keeps the rendered answer per wallet and serves it again while
// nothing it shows can have changed:
//
//   - key lifecycle (create, rotate, update, revoke, suspend, on any
//     instance): every change moves the generation of the wallet's limiter
//     subject (keyauth.InvalidateWallet) before the call that made it
//     answers, and the signed request has read that generation already,
//     with the per-IP limit and the wallet's budget (one round trip). A list
//     rendered under another generation is rendered again, so the next list
//     on any instance after a change has returned shows it — the rule
//     revocation already follows (docs/decisions.md). A generation of 0
//     (never set, expired, lost with Redis) is never trusted: it is set first.
//   - usage (usageStats, lastUsedAt): rendered again after every flush of this
//     instance's usage recorder, and at least every keyListTTL (the usage
//     flush interval) for the flushes of other instances.
//   - expiry: an entry ends when the first of its keys expires (the status
//     is computed at render time).
//
// The limiter down (fail open) or a keyed list (X-API-Key with read): read
// the store, as before.

// Bounds of the cache: wallets held, and bytes of rendered lists.
const (
	keyListEntries  = 4096
	keyListMaxBytes = 8 << 20
)

type keyListEntry struct {
	wallet  string
	gen     int64     // the wallet's generation it was rendered under
	flushed uint64    // the usage recorder's flush count before the keys were read
	expires time.Time // TTL, or the first key expiry
	body    []byte    // the answer, as c.JSON writes it (with its newline)
}

// keyListCache is an LRU of rendered key lists, bounded in entries and bytes.
type keyListCache struct {
	mu    sync.Mutex
	m     map[string]*list.Element // of *keyListEntry
	lru   list.List                // front: most recently used
	bytes int
}

func newKeyListCache() *keyListCache {
	return &keyListCache{m: make(map[string]*list.Element)}
}

// get is the body rendered for wallet under gen and flushed, if still fresh.
func (c *keyListCache) get(wallet string, gen int64, flushed uint64, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[wallet]
	if !ok {
		return nil, false
	}
	e := el.Value.(*keyListEntry)
	if e.gen != gen || e.flushed != flushed || !now.Before(e.expires) {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.body, true
}

func (c *keyListCache) put(e *keyListEntry) {
	if len(e.body) > keyListMaxBytes/16 {
		return // an unusual list: not worth a sixteenth of the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[e.wallet]; ok {
		c.bytes -= len(el.Value.(*keyListEntry).body)
		el.Value = e
		c.lru.MoveToFront(el)
	} else {
		c.m[e.wallet] = c.lru.PushFront(e)
	}
	c.bytes += len(e.body)
	for c.lru.Len() > keyListEntries || c.bytes > keyListMaxBytes {
		old := c.lru.Back()
		oe := old.Value.(*keyListEntry)
		c.lru.Remove(old)
		delete(c.m, oe.wallet)
		c.bytes -= len(oe.body)
	}
}

// keyList is the answer to GET /api/v1/api-keys.
type keyList struct {
	APIKeys []KeyView `json:"apiKeys"`
}

// listKeys: GET /api/v1/api-keys, signed list_api_keys (reusable in its
// window), or with a key holding read: the wallet's keys.
func (s *Server) listKeys(c echo.Context) error {
	if keyFrom(c) != nil {
		wallet, err := s.readingWallet(c, walletauth.ActionListKeys)
		if err != nil {
			return err
		}
		return s.listFromStore(c, wallet)
	}
	m, err := s.verifySigned(c, ClassSignedRead, walletauth.ActionListKeys)
	if err != nil {
		return err
	}
	wallet := m.Address()
	ch := chargeOf(c)
	if ch == nil || !ch.genKnown || (c.QueryString() != "" && c.QueryParams().Has("pretty")) {
		return s.listFromStore(c, wallet) // no generation to trust (limiter down), or an indented answer
	}
	gen := ch.gen
	if gen == 0 {
		// Never set, expired or lost: set one, and render under it.
		if gen, err = s.limiter.Bump(c.Request().Context(), keyauth.WalletSubject(wallet)); err != nil {
			return s.listFromStore(c, wallet)
		}
	}
	now := s.now()
	flushed := s.usage.Flushed() // before the keys are read: a flush after that renders again
	if body, ok := s.keyLists.get(wallet, gen, flushed, now); ok {
		return c.JSONBlob(http.StatusOK, body)
	}
	keys, err := s.keys.List(c.Request().Context(), wallet)
	if err != nil {
		return err
	}
	body, err := json.Marshal(s.keyList(keys))
	if err != nil {
		return err
	}
	body = append(body, '\n') // as json.Encoder (c.JSON) ends it
	s.keyLists.put(&keyListEntry{wallet: wallet, gen: gen, flushed: flushed, expires: listExpiry(keys, now.Add(s.keyListTTL)), body: body})
	return c.JSONBlob(http.StatusOK, body)
}

func (s *Server) listFromStore(c echo.Context, wallet string) error {
	keys, err := s.keys.List(c.Request().Context(), wallet)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.keyList(keys))
}

func (s *Server) keyList(keys []*apikey.Key) keyList {
	views := make([]KeyView, len(keys))
	for i, k := range keys {
		views[i] = s.keyView(k)
	}
	return keyList{APIKeys: views}
}

// listExpiry is when a list rendered now stops being exact without any
// change: at ttl, or when the first of its keys expires.
func listExpiry(keys []*apikey.Key, ttl time.Time) time.Time {
	end := ttl
	for _, k := range keys {
		if k.ExpiresAt != nil && k.ExpiresAt.Before(end) {
			end = *k.ExpiresAt
		}
	}
	return end
}
