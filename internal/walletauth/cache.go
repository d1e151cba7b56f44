package walletauth

import (
	"crypto/sha256"
	"time"
)

// A dashboard or a bot signs one list_api_keys message and re-sends it for
// the whole of its window; each request used to pay a full signature
// recovery (~90 % of a signed read's CPU). Verified read-only messages are
// remembered for the rest of their window: the same (wallet, signature,
// message) then skips the recovery and the parse of the same text — and
// nothing else. The wallet, action, window, network, domain and publicKey
// checks still run on every request, and single-use (state-changing)
// actions never enter it. An entry also remembers that the message was
// counted against its wallet (ReadOnce, walletauth.go).

// ReusableActions are the read-only actions whose verification is
// remembered; every other action is single use.
var ReusableActions = []string{ActionListKeys, ActionGetKey, ActionListAudit}

func reusable(action string) bool {
	for _, a := range ReusableActions {
		if a == action {
			return true
		}
	}
	return false
}

// VerifiedCacheSize bounds the cache: at most this many entries (≈200 B
// each), the oldest inserted leaving first.
const VerifiedCacheSize = 8192

type verifiedKey [sha256.Size]byte

type verifiedEntry struct {
	pub     []byte    // the recovered public key (33 bytes)
	expires time.Time // the message's timestamp plus the window
	msg     *Message  // the message as parsed and verified; never modified
}

// verifiedCache maps a hash of (wallet, signature, message) to the public
// key recovered from it.
type verifiedCache struct {
	*boundedMap[verifiedKey, verifiedEntry]
}

func newVerifiedCache(size int) verifiedCache {
	return verifiedCache{newBoundedMap[verifiedKey, verifiedEntry](size)}
}

// cacheKey separates the three fields unambiguously: a wallet address and a
// signature never contain a NUL.
func cacheKey(wallet, signature, message string) verifiedKey {
	if n := len(wallet) + len(signature) + len(message) + 2; n <= 512 { // real messages: one hash on the stack
		var buf [512]byte
		b := append(buf[:0], wallet...)
		b = append(b, 0)
		b = append(b, signature...)
		b = append(b, 0)
		b = append(b, message...)
		return sha256.Sum256(b)
	}
	h := sha256.New()
	h.Write([]byte(wallet))
	h.Write([]byte{0})
	h.Write([]byte(signature))
	h.Write([]byte{0})
	h.Write([]byte(message))
	var k verifiedKey
	h.Sum(k[:0])
	return k
}

// get is the entry of k while its message's window lasts.
func (c verifiedCache) get(k verifiedKey, now time.Time) (verifiedEntry, bool) {
	e, ok := c.boundedMap.get(k)
	if !ok || !now.Before(e.expires) {
		return verifiedEntry{}, false
	}
	return e, true
}
