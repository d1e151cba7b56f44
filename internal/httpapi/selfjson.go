package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// GET /api-keys/self is the keyed hot path, so its answer is appended into a
// pooled buffer field by field instead of going through encoding/json's
// reflection and a map of windows (a tenth of the gateway's CPU on this
// request in the bench's profile). The bytes are exactly what c.JSON wrote
// for SelfView (TestSelfJSONMatchesEncodingJSON): same field order, map keys
// sorted, encoding/json's escaping, a trailing newline.

var selfBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// selfContentType is the answer's Content-Type value, shared by every
// answer: c.Blob would otherwise Set it, a new []string per request. Nothing
// writes into a header's value slice in place (Set and Add replace or
// append, and the capacity of 1 makes an append copy).
var selfContentType = []string{echo.MIMEApplicationJSON}[:1:1]

// writeSelf answers 200 with the SelfView of k and d.
func (s *Server) writeSelf(c echo.Context, k *apikey.Key, d ratelimit.Decision) error {
	bp := selfBufs.Get().(*[]byte)
	b := appendSelfJSON((*bp)[:0], k, k.EffectiveStatus(s.now()), d.Windows)
	if h := c.Response().Header(); h[echo.HeaderContentType] == nil { // as c.Blob: a type set earlier stays
		h[echo.HeaderContentType] = selfContentType // the name is canonical
	}
	err := c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	*bp = b
	selfBufs.Put(bp)
	return err
}

func appendSelfJSON(b []byte, k *apikey.Key, status apikey.Status, ws []ratelimit.WindowState) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, k.ID)
	b = append(b, `,"keyId":`...)
	b = appendJSONString(b, k.ID)
	b = append(b, `,"walletAddress":`...)
	b = appendJSONString(b, k.WalletAddress)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, k.Name)
	b = append(b, `,"prefix":`...)
	b = appendJSONString(b, k.Prefix)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(status))
	b = append(b, `,"permissions":[`...)
	for i, p := range k.Permissions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, string(p))
	}
	b = append(b, `],"rateLimit":`...)
	b = strconv.AppendInt(b, int64(k.Limits.Minute), 10)
	b = append(b, `,"rateLimits":{"minute":`...)
	b = strconv.AppendInt(b, int64(k.Limits.Minute), 10)
	b = append(b, `,"hour":`...)
	b = strconv.AppendInt(b, int64(k.Limits.Hour), 10)
	b = append(b, `,"day":`...)
	b = strconv.AppendInt(b, int64(k.Limits.Day), 10)
	b = append(b, `},"ipAllowlist":[`...)
	for i, p := range k.IPAllowlist {
		if i > 0 {
			b = append(b, ',')
		}
		if !p.IsValid() {
			b = appendJSONString(b, p.String())
			continue
		}
		b = append(b, '"')
		b = p.AppendTo(b) // digits, dots, colons, hex and a slash: nothing to escape
		b = append(b, '"')
	}
	b = append(b, `],"expiresAt":`...)
	b = appendJSONTimePtr(b, k.ExpiresAt)
	b = append(b, `,"createdAt":`...)
	b = appendJSONTime(b, k.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = appendJSONTime(b, k.UpdatedAt)
	b = append(b, `,"revokedAt":`...)
	b = appendJSONTimePtr(b, k.RevokedAt)
	b = append(b, `,"lastUsedAt":`...)
	b = appendJSONTimePtr(b, k.LastUsedAt)
	u := k.Usage
	b = append(b, `,"usageStats":{"totalRequests":`...)
	b = strconv.AppendInt(b, u.TotalRequests, 10)
	b = append(b, `,"successfulRequests":`...)
	b = strconv.AppendInt(b, u.SuccessfulRequests, 10)
	b = append(b, `,"failedRequests":`...)
	b = strconv.AppendInt(b, u.FailedRequests, 10)
	b = append(b, `,"creationCount":`...)
	b = strconv.AppendInt(b, u.CreationCount, 10)
	b = append(b, `,"executionCount":`...)
	b = strconv.AppendInt(b, u.ExecutionCount, 10)
	b = append(b, `,"cancellationCount":`...)
	b = strconv.AppendInt(b, u.CancellationCount, 10)
	b = append(b, `},"rotatedFrom":`...)
	b = appendJSONStringOrNull(b, k.RotatedFrom)
	b = append(b, `,"rotatedTo":`...)
	b = appendJSONStringOrNull(b, k.RotatedTo)
	b = append(b, `,"rateLimitState":{`...)
	// encoding/json writes a map's keys sorted; a name twice keeps the last.
	var order [8]int
	idx := order[:0]
	if len(ws) > len(order) {
		idx = make([]int, 0, len(ws))
	}
	for i := range ws {
		j := 0
		for j < len(idx) && ws[idx[j]].Name < ws[i].Name {
			j++
		}
		if j < len(idx) && ws[idx[j]].Name == ws[i].Name {
			idx[j] = i
			continue
		}
		idx = append(idx, 0)
		copy(idx[j+1:], idx[j:])
		idx[j] = i
	}
	for n, i := range idx {
		w := ws[i]
		if n > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, w.Name)
		b = append(b, `:{"limit":`...)
		b = strconv.AppendInt(b, int64(w.Limit), 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(w.Remaining), 10)
		b = append(b, `,"reset":`...)
		b = strconv.AppendInt(b, ceilUnix(w.Reset), 10)
		b = append(b, `,"window":`...)
		b = strconv.AppendInt(b, int64(w.Size/time.Second), 10)
		b = append(b, '}')
	}
	return append(b, "}}\n"...)
}

// appendJSONString quotes s as encoding/json does. Strings of plain
// printable ASCII (ids, addresses, most names) are copied; anything else is
// left to encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONStringOrNull is appendJSONString, or null for "" (optional).
func appendJSONStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, '"')
}

func appendJSONTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendJSONTime(b, *t)
}
