package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/order"
)

// maxListLimit bounds one page, as in the PostgreSQL store; a zero or
// negative limit asks for it.
const maxListLimit = 1000

// Orders is an in-memory order.Store. Every transition checks and changes an
// order under one lock, so concurrent callers can never both win; reads and
// writes hand out clones. Times are kept in UTC at microsecond precision, as
// PostgreSQL keeps them.
type Orders struct {
	trail  *audit.Memory // where events are written, with their change (AuditTo); nil: dropped
	mu     sync.RWMutex
	orders map[string]*order.Order // by uuid
	leases map[string]time.Time    // reconciliation leases, by uuid (TakeStuck)
	events eventLog                // appended under mu, with each change (events.go)
}

var _ order.Store = (*Orders)(nil)

// NewOrders returns an empty order store.
func NewOrders() *Orders {
	return &Orders{orders: make(map[string]*order.Order)}
}

// ts is t as PostgreSQL stores a timestamptz: UTC, whole microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// InsertOrder implements order.Store.
func (s *Orders) InsertOrder(ctx context.Context, o *order.Order, ev *audit.Event) error {
	if err := checkEvent(ev, o.UUID, o.Owner); err != nil {
		return err
	}
	c := o.Clone()
	c.ValidFrom, c.ValidTo = ts(c.ValidFrom), ts(c.ValidTo)
	c.CreatedAt, c.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	c.ExecutingSince, c.FilledAt = tsPtr(c.ExecutingSince), tsPtr(c.FilledAt)
	c.CancelledAt, c.ExpiredAt = tsPtr(c.CancelledAt), tsPtr(c.ExpiredAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[c.UUID]; ok {
		return order.ErrDuplicate
	}
	s.orders[c.UUID] = c
	s.record(ctx, ev)
	s.events.append(order.EventCreated, c)
	return nil
}

// AuditTo makes the store write the events of its changes into trail, under
// the lock of the change (call before use).
func (s *Orders) AuditTo(trail *audit.Memory) { s.trail = trail }

// checkEvent completes ev with its order and refuses it as PostgreSQL would,
// before anything changes.
func checkEvent(ev *audit.Event, uuid, owner string) error {
	if ev == nil {
		return nil
	}
	ev.Wallet, ev.OrderUUID = owner, uuid
	return audit.Check(ev)
}

// record writes a checked event; it cannot fail (audit.Check passed).
func (s *Orders) record(ctx context.Context, ev *audit.Event) {
	if ev != nil && s.trail != nil {
		_ = s.trail.Append(ctx, ev)
	}
}

// OrderByUUID implements order.Store.
func (s *Orders) OrderByUUID(_ context.Context, uuid string) (*order.Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.orders[uuid]
	if !ok {
		return nil, order.ErrNotFound
	}
	return o.Clone(), nil
}

// newerFirst orders by (CreatedAt, UUID) descending, UUIDs compared by bytes
// (the PostgreSQL column is COLLATE "C").
func newerFirst(a, b *order.Order) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.UUID, a.UUID)
}

// ListOrders implements order.Store: newest first, strictly after the cursor.
func (s *Orders) ListOrders(_ context.Context, q order.ListQuery) ([]*order.Order, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	cursorSet := !q.AfterCreatedAt.IsZero() || q.AfterUUID != ""
	cursor := &order.Order{CreatedAt: ts(q.AfterCreatedAt), UUID: q.AfterUUID}
	s.mu.RLock()
	matched := make([]*order.Order, 0, len(s.orders))
	for _, o := range s.orders {
		if q.Owner != "" && o.Owner != q.Owner {
			continue
		}
		if q.Status != "" && o.Status != q.Status {
			continue
		}
		if cursorSet && newerFirst(o, cursor) <= 0 { // not strictly older than the cursor
			continue
		}
		matched = append(matched, o)
	}
	slices.SortFunc(matched, newerFirst)
	out := make([]*order.Order, 0, min(limit, len(matched)))
	for _, o := range matched[:min(limit, len(matched))] {
		out = append(out, o.Clone())
	}
	s.mu.RUnlock()
	return out, nil
}

// transition applies change to the order uuid when allowed says it may,
// atomically; otherwise it answers ErrNotFound or notMatched.
func (s *Orders) transition(uuid string, notMatched error, allowed func(*order.Order) bool, change func(*order.Order)) (*order.Order, error) {
	return s.audited(context.Background(), uuid, notMatched, allowed, change, nil)
}

// audited is transition writing ev (if any) with the change, under its lock.
func (s *Orders) audited(ctx context.Context, uuid string, notMatched error, allowed func(*order.Order) bool,
	change func(*order.Order), ev *audit.Event) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[uuid]
	if !ok {
		return nil, order.ErrNotFound
	}
	if !allowed(o) {
		return nil, notMatched
	}
	if err := checkEvent(ev, o.UUID, o.Owner); err != nil {
		return nil, err
	}
	next := o.Clone()
	change(next)
	s.orders[uuid] = next
	s.record(ctx, ev)
	if typ, ok := order.EventOf(o.Status, next.Status); ok {
		s.events.append(typ, next)
	}
	return next.Clone(), nil
}

// Claim implements order.Store.
func (s *Orders) Claim(_ context.Context, uuid, actor, owner string, now time.Time) (*order.Order, error) {
	now = ts(now)
	return s.transition(uuid, order.ErrNotOpen,
		func(o *order.Order) bool {
			return o.Status == order.StatusOpen && !o.ValidFrom.After(now) && o.ValidTo.After(now) &&
				(owner == "" || o.Owner == owner)
		},
		func(o *order.Order) {
			o.Status = order.StatusExecuting
			o.Attempts++
			o.ExecutingSince = &now
			o.ExecutedBy = actor
			o.UpdatedAt = now
		})
}

// Fill implements order.Store.
func (s *Orders) Fill(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*order.Order, error) {
	return s.recordTx(ctx, "fill", uuid, txid, settlement, now, ev, order.StatusFilled,
		func(o *order.Order) **time.Time { return &o.FilledAt })
}

// Release implements order.Store.
func (s *Orders) Release(_ context.Context, uuid, reason string, now time.Time) (*order.Order, error) {
	now = ts(now)
	return s.transition(uuid, order.ErrNotPending,
		func(o *order.Order) bool { return o.Status == order.StatusExecuting },
		func(o *order.Order) {
			o.Status = order.StatusOpen
			o.LastError = reason
			o.ExecutingSince = nil
			o.UpdatedAt = now
		})
}

// Cancel implements order.Store.
func (s *Orders) Cancel(ctx context.Context, uuid, actor, owner string, now time.Time, ev *audit.Event) (*order.Order, error) {
	now = ts(now)
	return s.audited(ctx, uuid, order.ErrNotOpen,
		func(o *order.Order) bool {
			return o.Status == order.StatusOpen && o.ValidTo.After(now) && (owner == "" || o.Owner == owner)
		},
		func(o *order.Order) {
			o.Status = order.StatusCancelled
			o.CancelledBy = actor
			o.CancelledAt = &now
			o.UpdatedAt = now
		}, ev)
}

// Expire implements order.Store.
func (s *Orders) Expire(_ context.Context, uuid string, now time.Time) (int, error) {
	now = ts(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	expire := func(id string, o *order.Order) int {
		if o.Status != order.StatusOpen || o.ValidTo.After(now) {
			return 0
		}
		next := o.Clone()
		next.Status = order.StatusExpired
		next.ExpiredAt = &now
		next.UpdatedAt = now
		s.orders[id] = next
		s.events.append(order.EventExpired, next)
		return 1
	}
	if uuid != "" {
		if o, ok := s.orders[uuid]; ok {
			return expire(uuid, o), nil
		}
		return 0, nil
	}
	n := 0
	for id, o := range s.orders {
		n += expire(id, o)
	}
	return n, nil
}

// TakeStuck implements order.Store: oldest claim first.
func (s *Orders) TakeStuck(_ context.Context, since, now time.Time, lease time.Duration, limit int) ([]*order.Order, error) {
	since, now = ts(since), ts(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*order.Order{}
	for _, o := range s.orders {
		if until, leased := s.leases[o.UUID]; leased && until.After(now) {
			continue
		}
		if o.Status == order.StatusExecuting && o.ExecutingSince != nil && !o.ExecutingSince.After(since) {
			out = append(out, o.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *order.Order) int {
		if c := a.ExecutingSince.Compare(*b.ExecutingSince); c != 0 {
			return c
		}
		return cmp.Compare(a.UUID, b.UUID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if s.leases == nil {
		s.leases = make(map[string]time.Time)
	}
	for _, o := range out {
		s.leases[o.UUID] = now.Add(lease)
	}
	return out, nil
}

// validTxID reports whether s is "0x" + 64 lower-case hex digits.
func validTxID(s string) bool {
	if len(s) != 66 || !strings.HasPrefix(s, "0x") {
		return false
	}
	return strings.Trim(s[2:], "0123456789abcdef") == ""
}

// Submit implements order.Store.
func (s *Orders) Submit(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*order.Order, error) {
	return s.recordTx(ctx, "submit", uuid, txid, settlement, now, ev, order.StatusSubmitted,
		func(o *order.Order) **time.Time { return &o.SubmittedAt })
}

// recordTx moves an executing order to status with the transaction that
// settles it (op names the caller in errors), stamping at with now.
func (s *Orders) recordTx(ctx context.Context, op, uuid, txid, settlement string, now time.Time, ev *audit.Event,
	status order.Status, at func(*order.Order) **time.Time) (*order.Order, error) {
	if !validTxID(txid) {
		return nil, fmt.Errorf("%s order: txid %q is not 0x and 64 lower-case hex digits", op, txid)
	}
	if settlement == "" {
		return nil, fmt.Errorf("%s order: settlement name is empty", op)
	}
	now = ts(now)
	return s.audited(ctx, uuid, order.ErrNotPending,
		func(o *order.Order) bool { return o.Status == order.StatusExecuting },
		func(o *order.Order) {
			o.Status = status
			o.TxID, o.Settlement = txid, settlement
			*at(o) = &now
			o.UpdatedAt = now
		}, ev)
}

// Resubmit implements order.Store.
func (s *Orders) Resubmit(_ context.Context, uuid, txid, newTxID string, now time.Time) (*order.Order, error) {
	if !validTxID(newTxID) {
		return nil, fmt.Errorf("resubmit order: txid %q is not 0x and 64 lower-case hex digits", newTxID)
	}
	now = ts(now)
	return s.transition(uuid, order.ErrNotSubmitted,
		func(o *order.Order) bool { return o.Status == order.StatusSubmitted && o.TxID == txid },
		func(o *order.Order) {
			o.TxID = newTxID
			o.UpdatedAt = now
		})
}

// Confirm implements order.Store.
func (s *Orders) Confirm(ctx context.Context, uuid, txid string, blockHeight int64, now time.Time, ev *audit.Event) (*order.Order, error) {
	if !validTxID(txid) {
		return nil, fmt.Errorf("confirm order: txid %q is not 0x and 64 lower-case hex digits", txid)
	}
	if blockHeight <= 0 {
		return nil, fmt.Errorf("confirm order: block height %d is not positive", blockHeight)
	}
	now = ts(now)
	return s.audited(ctx, uuid, order.ErrNotSubmitted,
		func(o *order.Order) bool { return o.Status == order.StatusSubmitted },
		func(o *order.Order) {
			o.Status = order.StatusFilled
			o.TxID, o.BlockHeight = txid, blockHeight
			o.FilledAt = &now
			o.UpdatedAt = now
		}, ev)
}

// Reopen implements order.Store.
func (s *Orders) Reopen(ctx context.Context, uuid, reason string, now time.Time, ev *audit.Event) (*order.Order, error) {
	now = ts(now)
	return s.audited(ctx, uuid, order.ErrNotSubmitted,
		func(o *order.Order) bool { return o.Status == order.StatusSubmitted },
		func(o *order.Order) {
			o.Status = order.StatusOpen
			o.LastError = reason
			o.TxID, o.Settlement = "", ""
			o.ExecutingSince, o.SubmittedAt = nil, nil
			o.UpdatedAt = now
		}, ev)
}

// Submitted implements order.Store.
func (s *Orders) Submitted(_ context.Context, limit int) ([]*order.Order, error) {
	s.mu.RLock()
	out := []*order.Order{}
	for _, o := range s.orders {
		if o.Status == order.StatusSubmitted {
			out = append(out, o.Clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *order.Order) int {
		if c := a.SubmittedAt.Compare(*b.SubmittedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.UUID, b.UUID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
