package httpapi

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// The per-wallet limit of wallet-signed calls counts only fresh, accepted
// signed messages (DESIGN.md round 2), so nobody without the wallet's key can
// use up its budget: a verified request is checked against the budget
// without being counted (Peek), and counted once it has succeeded — a
// reusable read message only at its first success. Replays of a used
// message, duplicate order uuids and every refused request cost the wallet
// nothing, and delete_api_key is never refused by this limit (the per-IP
// limit still applies): an owner can always revoke.
//
// Check and count are two steps, so concurrent fresh requests of one wallet
// may pass a nearly spent budget together; the count itself never exceeds
// the limit (a refused Allow records nothing), and only the wallet's own
// signatures can make such requests.

// walletCharge is what a signed request will cost once it has succeeded,
// and the per-IP decision whose rate-limit headers the answer carries.
type walletCharge struct {
	wallet   string
	msg      *walletauth.Message // nil for an unkeyed order create (its uuid is single use)
	reusable bool                // a read message, counted at its first success only
	shown    ratelimit.Decision  // set by limitIP; no windows when it set no headers (fail open)

	// The budget of the wallet the request claims, read with the per-IP
	// limit (allowIP); empty when it was not.
	peeked       ratelimit.Decision
	peekedWallet string

	// The generation of the wallet's key list, read with its budget
	// (walletBudget); genKnown is false when the limiter did not answer.
	gen      int64
	genKnown bool
}

type chargeCtx struct{}

// chargeOf is the request's walletCharge (nil outside chargeWallets).
func chargeOf(c echo.Context) *walletCharge {
	ch, _ := c.Request().Context().Value(chargeCtx{}).(*walletCharge)
	return ch
}

// walletPolicy is the per-wallet limit; never modified.
func (s *Server) walletPolicy() ratelimit.Policy { return s.walletLimit }

// chargeWallets runs around every wallet-signed handler and its per-IP limit:
// it counts the request against the wallet that signed it once the answer is
// a success.
func (s *Server) chargeWallets(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ch := &walletCharge{}
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), chargeCtx{}, ch)))
		err := next(c)
		if err == nil && ch.wallet != "" && c.Response().Status >= 200 && c.Response().Status < 300 {
			s.chargeWallet(context.WithoutCancel(c.Request().Context()), ch)
		}
		return err
	}
}

// chargeWallet counts a successful signed request. The answer is already
// sent: a limiter failure here is logged, not reported.
//
// A reusable read message is counted at its first success only, on any
// instance: the limiter sets its marker and counts in one atomic step
// (AllowOnce), and this instance then remembers it was counted.
func (s *Server) chargeWallet(ctx context.Context, ch *walletCharge) {
	subject := keyauth.WalletSubject(ch.wallet)
	var err error
	if ch.reusable && ch.msg != nil {
		marker, ttl, counted := s.wallets.ReadOnce(ch.msg)
		if counted {
			return
		}
		if _, err = s.limiter.AllowOnce(ctx, subject, s.walletPolicy(), marker, ttl); err == nil {
			s.wallets.Counted(ch.msg)
		}
	} else {
		_, err = s.limiter.Allow(ctx, subject, s.walletPolicy())
	}
	if err != nil {
		s.log.Warn("wallet budget not counted: rate limiter unreachable", slog.Any("error", err))
	}
}

// walletBudget checks a verified request of wallet against its budget
// without counting it, and arranges for it to be counted if it succeeds.
// m is the signed message (nil for an unkeyed order create).
func (s *Server) walletBudget(c echo.Context, wallet string, m *walletauth.Message, class RouteClass) error {
	ch := chargeOf(c)
	if ch == nil {
		// A route without chargeWallets: count now rather than never.
		ch = &walletCharge{}
		defer s.chargeWallet(context.WithoutCancel(c.Request().Context()), ch)
	}
	ch.wallet, ch.msg, ch.reusable = wallet, m, class == ClassSignedRead
	if m != nil && m.Action == walletauth.ActionDeleteKey {
		return nil // an owner can always revoke
	}
	d, err := ch.peeked, error(nil)
	if ch.peekedWallet != wallet {
		d, err = s.limiter.Peek(c.Request().Context(), keyauth.WalletSubject(wallet), s.walletPolicy())
	}
	s.metrics.RateLimit(metrics.ScopeWallet, d.Allowed, err)
	if err != nil {
		if s.limits.FailOpen[class] {
			return nil
		}
		return fault.Unavailable("Service unavailable: rate limiter unreachable", err)
	}
	ch.gen, ch.genKnown = d.Generation, true
	if d.Allowed {
		d = countingThis(d)
	}
	if !d.Allowed || len(ch.shown.Windows) == 0 || d.Tightest().Remaining < ch.shown.Tightest().Remaining {
		setRateHeaders(c, d)
	}
	if !d.Allowed {
		return rateLimited(d)
	}
	return nil
}

// countingThis is a peeked decision as the headers report it: Remaining
// counts the current request, as everywhere else.
func countingThis(d ratelimit.Decision) ratelimit.Decision {
	ws := make([]ratelimit.WindowState, len(d.Windows))
	for i, w := range d.Windows {
		w.Remaining = max(0, w.Remaining-1)
		ws[i] = w
	}
	d.Windows = ws
	return d
}
