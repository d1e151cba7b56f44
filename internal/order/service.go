package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/every"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/metrics/label"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Public errors (texts are DESIGN.md's where it names them).
var (
	ErrOrderNotFound  = fault.NotFound("Order not found").WithCode(fault.CodeOrderNotFound)
	errOrderNotOpen   = fault.Invalid("", "Order not open").WithCode(fault.CodeOrderNotOpen)
	errNotYetValid    = fault.Invalid("", "Order not yet valid").WithCode(fault.CodeOrderNotYetValid)
	errDuplicate      = fault.Conflict("Duplicate order uuid").WithCode(fault.CodeDuplicateOrder)
	errBadSignature   = fault.Unauthenticated("Invalid order signature").WithCode(fault.CodeInvalidOrderSignature)
	errSignatureInput = fault.Invalid("signature", "signature must be 65 bytes of hex (r, s and a recovery id)").WithCode(fault.CodeMalformedSignature)
)

// Config holds the order rules of a deployment.
type Config struct {
	Network        stacks.Network
	Domain         stacks.Domain // SIP-018 domain orders are signed under
	MaxLifetime    time.Duration
	ReconcileAfter time.Duration  // an execution older than this is presumed interrupted
	Metrics        Metrics        // signature and settlement counts (*metrics.Metrics); nil: none
	Audit          audit.Recorder // hears of every create, execution and cancel (nil: no trail)
}

// Service runs the order lifecycle.
type Service struct {
	store  Store
	settle Settlement
	cfg    Config
	now    func() time.Time
	log    *slog.Logger

	// Set when the settlement is instant and the store claims and fills in
	// one step: Execute then takes executeInstant.
	instant     InstantSettlement
	claimFiller ClaimFiller
}

// NewService returns a Service. now is the clock (time.Now in production).
func NewService(store Store, settle Settlement, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	s := &Service{store: store, settle: settle, cfg: cfg, now: now, log: log}
	if inst, ok := settle.(InstantSettlement); ok {
		if cf, ok := store.(ClaimFiller); ok {
			s.instant, s.claimFiller = inst, cf
		}
	}
	return s
}

// Verified is a create request that passed validation, the caller's
// permission and ownership checks and the owner's signature: what Create stores.
type Verified struct {
	order *Order
	by    Caller
}

// Owner is the wallet the verified order belongs to.
func (v *Verified) Owner() string { return v.order.Owner }

// Verify validates n, checks the caller against the new order (a key needs
// the create permission and its wallet must own the order; cheap checks
// first), and verifies the owner's SIP-018 signature over the canonical
// tuple. Between Verify and Create the caller may apply what needs a proven
// owner (the wallet's rate limit).
func (s *Service) Verify(n NewOrder, by Caller) (*Verified, error) {
	now := s.now()
	v, err := validate(n, s.cfg.Network, now, s.cfg.MaxLifetime)
	if err != nil {
		return nil, err
	}
	if err := by.may(apikey.PermCreate); err != nil {
		return nil, err
	}
	if by.Wallet != v.order.Owner {
		return nil, &NotOwnerError{Caller: by, Order: v.order.UUID, Owner: v.order.Owner}
	}
	if err := s.verifySignature(v.sig, n.Signature); err != nil {
		if errors.Is(err, stacks.ErrMalformedSignature) {
			return nil, errSignatureInput.Wrap(err)
		}
		return nil, errBadSignature.Wrap(err)
	}
	o := v.order
	o.Signature, err = canonicalSignature(v.sig, s.cfg.Domain, n.Signature)
	if err != nil {
		return nil, err
	}
	o.CreatedBy = by.Actor()
	o.CreatedAt = now.UTC().Truncate(time.Microsecond)
	o.UpdatedAt = o.CreatedAt
	return &Verified{order: o, by: by}, nil
}

// Create stores a verified order.
func (s *Service) Create(ctx context.Context, v *Verified) (*Order, error) {
	o := v.order.Clone()
	if err := s.store.InsertOrder(ctx, o, s.event(ctx, audit.OrderCreated, o, o.CreatedBy, false)); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, errDuplicate.WithDetails(map[string]any{"uuid": o.UUID})
		}
		return nil, fmt.Errorf("insert order: %w", err)
	}
	return o, nil
}

// Get returns one order.
func (s *Service) Get(ctx context.Context, uuid string) (*Order, error) {
	if !ValidUUID(uuid) {
		return nil, ErrOrderNotFound
	}
	o, err := s.store.OrderByUUID(ctx, uuid)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrOrderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load order: %w", err)
	}
	return o, nil
}

// List returns a page of orders, newest first.
func (s *Service) List(ctx context.Context, q ListQuery) ([]*Order, error) {
	orders, err := s.store.ListOrders(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return orders, nil
}

// Execute settles an order at most once: one conditional claim (open, the
// caller's own and inside its validity window → executing), settlement under
// the order uuid as idempotency key, then the txid is recorded. A rejected
// settlement returns the order to open; an unknown outcome leaves it
// executing for Reconcile. The happy path reads nothing before the claim: the
// owner check is in the claim, and a refused claim is explained afterwards.
func (s *Service) Execute(ctx context.Context, uuid string, c Caller) (*Order, error) {
	if err := c.may(apikey.PermExecute); err != nil {
		return nil, err
	}
	if !ValidUUID(uuid) {
		return nil, ErrOrderNotFound
	}
	now := s.now()
	if s.instant != nil {
		return s.executeInstant(ctx, uuid, c, now)
	}
	claimed, err := s.store.Claim(ctx, uuid, c.Actor(), c.Wallet, now)
	if errors.Is(err, ErrNotOpen) || errors.Is(err, ErrNotFound) {
		return nil, s.refused(ctx, uuid, c, now)
	}
	if err != nil {
		return nil, fmt.Errorf("claim order: %w", err)
	}
	// From here the order is ours alone. Settlement and recording must not be
	// cut short by the client going away.
	ctx = context.WithoutCancel(ctx)
	txid, err := s.settleCounted(ctx, claimed, label.PathExecute)
	if err != nil {
		return nil, s.settlementFailed(ctx, claimed, err)
	}
	if _, async := s.settle.(Tracker); async {
		return s.submit(ctx, claimed, txid, c.Actor(), false)
	}
	filled, err := s.store.Fill(ctx, uuid, txid, s.settle.Name(), s.now(), s.fillEvent(ctx, claimed, txid, c.Actor(), false))
	if errors.Is(err, ErrNotPending) {
		// This settlement outlived ReconcileAfter and reconciliation, asking
		// under the same idempotency key, recorded the same txid first: the
		// order is filled, so answer that instead of a 500 (faulttest).
		if o, gerr := s.store.OrderByUUID(ctx, uuid); gerr == nil && o.Status == StatusFilled && o.TxID == txid {
			return o, nil
		}
	}
	if err != nil {
		// Settled but not recorded: Reconcile will record the same txid.
		s.log.Error("settled order not recorded; reconciliation will finish it",
			slog.String("uuid", uuid), slog.Any("error", err))
		return nil, fmt.Errorf("record fill: %w", err)
	}
	return filled, nil
}

// executeInstant is Execute on an InstantSettlement: the txid is known
// before the claim, so claim and fill are one store step (one statement and
// commit, one new row version, instead of two). The settlement is still
// called once the fill is recorded, for its own record of the call (the
// simulated one logs it) and the settlement metrics; it changes nothing.
func (s *Service) executeInstant(ctx context.Context, uuid string, c Caller, now time.Time) (*Order, error) {
	txid, name := s.instant.InstantTxID(uuid), s.settle.Name()
	ev := s.event(ctx, audit.OrderExecuted, &Order{UUID: uuid, Owner: c.Wallet, TxID: txid, Settlement: name}, c.Actor(), false)
	filled, err := s.claimFiller.ClaimFill(ctx, uuid, c.Actor(), c.Wallet, now, txid, name, s.now(), ev)
	if errors.Is(err, ErrNotOpen) || errors.Is(err, ErrNotFound) {
		return nil, s.refused(ctx, uuid, c, now)
	}
	if err != nil {
		return nil, fmt.Errorf("claim and fill order: %w", err)
	}
	if got, err := s.settleCounted(context.WithoutCancel(ctx), filled, label.PathExecute); err != nil || got != txid {
		s.log.Error("instant settlement answered other than its txid recorded", slog.String("uuid", uuid),
			slog.String("recorded", txid), slog.String("answered", got), slog.Any("error", err))
	}
	return filled, nil
}

// fillEvent is the audit event of filling o with txid.
func (s *Service) fillEvent(ctx context.Context, o *Order, txid, actor string, reconciled bool) *audit.Event {
	f := o.Clone()
	f.TxID, f.Settlement = txid, s.settle.Name()
	return s.event(ctx, audit.OrderExecuted, f, actor, reconciled)
}

// Cancel cancels an open order of the caller's wallet.
func (s *Service) Cancel(ctx context.Context, uuid string, c Caller) (*Order, error) {
	if err := c.may(apikey.PermCancel); err != nil {
		return nil, err
	}
	if !ValidUUID(uuid) {
		return nil, ErrOrderNotFound
	}
	now := s.now()
	ev := s.event(ctx, audit.OrderCancelled, &Order{UUID: uuid, Owner: c.Wallet}, c.Actor(), false)
	cancelled, err := s.store.Cancel(ctx, uuid, c.Actor(), c.Wallet, now, ev)
	if errors.Is(err, ErrNotOpen) || errors.Is(err, ErrNotFound) {
		return nil, s.refused(ctx, uuid, c, now)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel order: %w", err)
	}
	return cancelled, nil
}

// refused explains a claim or cancel that changed nothing: no such order
// (404), another owner's (NotOwnerError), or not open (400).
func (s *Service) refused(ctx context.Context, uuid string, c Caller, now time.Time) error {
	o, err := s.Get(ctx, uuid)
	if err != nil {
		return err
	}
	if o.Owner != c.Wallet {
		return &NotOwnerError{Caller: c, Order: o.UUID, Owner: o.Owner}
	}
	return s.notOpen(ctx, uuid, now)
}

// notOpen explains why a transition from open failed, expiring the order
// when that is the reason.
func (s *Service) notOpen(ctx context.Context, uuid string, now time.Time) error {
	if _, err := s.store.Expire(ctx, uuid, now); err != nil {
		return fmt.Errorf("expire order: %w", err)
	}
	o, err := s.store.OrderByUUID(ctx, uuid)
	if err != nil {
		return fmt.Errorf("reload order: %w", err)
	}
	if o.Status == StatusOpen && now.Before(o.ValidFrom) {
		return errNotYetValid.WithDetails(map[string]any{"validFrom": o.ValidFrom.UTC().Format(time.RFC3339)})
	}
	details := map[string]any{"status": string(o.Status)}
	if o.TxID != "" {
		details["txid"] = o.TxID
	}
	return errOrderNotOpen.WithDetails(details)
}

func (s *Service) settlementFailed(ctx context.Context, o *Order, err error) error {
	if errors.Is(err, ErrSettlementRejected) {
		if _, rerr := s.store.Release(ctx, o.UUID, truncate(err.Error(), 500), s.now()); rerr != nil {
			s.log.Error("release order after rejected settlement", slog.String("uuid", o.UUID), slog.Any("error", rerr))
		}
		return &fault.Error{Kind: fault.KindBadGateway, Code: fault.CodeSettlementFailed, Public: "Settlement failed: " + truncate(err.Error(), 200),
			Details: map[string]any{"uuid": o.UUID, "status": string(StatusOpen)}, Err: err}
	}
	s.log.Warn("settlement outcome unknown; order left executing for reconciliation",
		slog.String("uuid", o.UUID), slog.Any("error", err))
	return &fault.Error{Kind: fault.KindBadGateway, Code: fault.CodeSettlementUnknown, Public: "Settlement outcome unknown: the order will be reconciled",
		Details: map[string]any{"uuid": o.UUID, "status": string(StatusExecuting)}, Err: err}
}

// ReconcileBatch is how many interrupted executions one gateway takes at a
// time. A batch is settled concurrently, so it takes one settlement's
// worst case, well inside its lease.
const ReconcileBatch = 16

// reconcileLease is how long a taken order stays this gateway's: at least
// ReconcileAfter, which app.New checks covers a settlement's worst case.
func reconcileLease(olderThan time.Duration) time.Duration { return max(olderThan, time.Minute) }

// Reconcile finishes executions interrupted by a crash or an unknown
// settlement outcome: settlement is asked again under the same idempotency
// key, so it returns the original txid instead of settling twice. Orders are
// taken in batches under a lease (one gateway at a time per order); one
// order's failure is logged and returned with the others', never aborting
// the pass.
func (s *Service) Reconcile(ctx context.Context, olderThan time.Duration) (filled, released int, err error) {
	var errs []error
	for range 100 { // bounded, in case executions keep getting stuck meanwhile
		now := s.now()
		batch, err := s.store.TakeStuck(ctx, now.Add(-olderThan), now, reconcileLease(olderThan), ReconcileBatch)
		if err != nil {
			return filled, released, errors.Join(append(errs, fmt.Errorf("take executing orders: %w", err))...)
		}
		outcomes := make([]reconciled, len(batch))
		var wg sync.WaitGroup
		for i, o := range batch {
			wg.Go(func() { outcomes[i] = s.reconcileOne(ctx, o) })
		}
		wg.Wait()
		for i, r := range outcomes {
			switch {
			case r.err != nil:
				s.log.Warn("reconcile order failed", slog.String("uuid", batch[i].UUID), slog.Any("error", r.err))
				errs = append(errs, fmt.Errorf("order %s: %w", batch[i].UUID, r.err))
			case r.filled:
				filled++
			case r.released:
				released++
			}
		}
		if len(batch) < ReconcileBatch {
			break
		}
	}
	return filled, released, errors.Join(errs...)
}

type reconciled struct {
	filled, released bool
	err              error
}

// reconcileOne asks settlement again about one interrupted execution.
func (s *Service) reconcileOne(ctx context.Context, o *Order) reconciled {
	txid, serr := s.settleCounted(ctx, o, label.PathReconcile)
	_, async := s.settle.(Tracker)
	switch {
	case serr == nil && async:
		// Broadcast (again, the same signed bytes): the tracker follows it.
		if _, err := s.submit(ctx, o, txid, o.ExecutedBy, true); err != nil {
			return reconciled{err: err}
		}
		return reconciled{filled: true}
	case serr == nil:
		_, err := s.store.Fill(ctx, o.UUID, txid, s.settle.Name(), s.now(), s.fillEvent(ctx, o, txid, o.ExecutedBy, true))
		if err == nil {
			return reconciled{filled: true}
		}
		if errors.Is(err, ErrNotPending) {
			return reconciled{} // the execute it interrupted recorded it meanwhile
		}
		return reconciled{err: fmt.Errorf("record reconciled fill: %w", err)}
	case errors.Is(serr, ErrSettlementRejected):
		_, err := s.store.Release(ctx, o.UUID, truncate(serr.Error(), 500), s.now())
		if err == nil {
			return reconciled{released: true}
		}
		if errors.Is(err, ErrNotPending) {
			return reconciled{}
		}
		return reconciled{err: fmt.Errorf("release reconciled order: %w", err)}
	default:
		s.log.Warn("reconcile: settlement outcome still unknown", slog.String("uuid", o.UUID), slog.Any("error", serr))
		return reconciled{}
	}
}

// submit records the broadcast transaction of an executing order. A submit
// that finds the order no longer executing answers the order as it stands
// when the same claim was recorded meanwhile (reconciliation on any instance
// submitted it, perhaps the tracker already replaced the transaction by fee
// or saw it mined), and otherwise says what became of it: the claim ended
// (the chain aborted it, or reconciliation's settlement was refused) while
// this call was settling, which is no server error.
func (s *Service) submit(ctx context.Context, o *Order, txid, actor string, fromReconcile bool) (*Order, error) {
	ev := o.Clone()
	ev.TxID, ev.Settlement, ev.Status = txid, s.settle.Name(), StatusSubmitted
	submitted, err := s.store.Submit(ctx, o.UUID, txid, s.settle.Name(), s.now(), s.event(ctx, audit.OrderExecuted, ev, actor, fromReconcile))
	if errors.Is(err, ErrNotPending) {
		cur, gerr := s.store.OrderByUUID(ctx, o.UUID)
		switch {
		case gerr != nil:
		case cur.Attempts == o.Attempts && (cur.Status == StatusSubmitted || cur.Status == StatusFilled):
			return cur, nil
		default:
			s.log.Warn("the order's claim ended while it was being settled", slog.String("uuid", o.UUID),
				slog.String("txid", txid), slog.String("status", string(cur.Status)))
			return nil, &fault.Error{Kind: fault.KindBadGateway, Code: fault.CodeSettlementUnknown,
				Public:  "Settlement outcome unknown: the order changed while this execute was settling it; get the order for its state",
				Details: map[string]any{"uuid": o.UUID, "status": string(cur.Status)}, Err: err}
		}
	}
	if err != nil {
		s.log.Error("broadcast transaction not recorded; reconciliation will finish it",
			slog.String("uuid", o.UUID), slog.String("txid", txid), slog.Any("error", err))
		return nil, fmt.Errorf("record submission: %w", err)
	}
	return submitted, nil
}

// Track follows the transactions of submitted orders (a Tracker settlement
// only): a success fills the order with its block height, an on-chain abort
// reopens it with the reason, a replacement (same nonce, higher fee) records
// the new txid. It handles up to limit orders per call.
func (s *Service) Track(ctx context.Context, limit int) (filled, reopened int, err error) {
	tr, ok := s.settle.(Tracker)
	if !ok {
		return 0, 0, nil
	}
	orders, err := s.store.Submitted(ctx, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("list submitted orders: %w", err)
	}
	for _, o := range orders {
		out, terr := tr.Track(ctx, o)
		if terr != nil {
			s.log.Warn("track transaction", slog.String("uuid", o.UUID), slog.String("txid", o.TxID), slog.Any("error", terr))
			continue
		}
		switch out.State {
		case OutcomeConfirmed:
			if _, err := s.store.Confirm(ctx, o.UUID, out.TxID, out.BlockHeight, s.now(),
				s.chainEvent(ctx, audit.OrderFilled, o, out.TxID, out.BlockHeight, "")); err == nil {
				filled++
			} else if !errors.Is(err, ErrNotSubmitted) {
				return filled, reopened, fmt.Errorf("record confirmation: %w", err)
			}
		case OutcomeAborted:
			if _, err := s.store.Reopen(ctx, o.UUID, truncate(out.Reason, 500), s.now(),
				s.chainEvent(ctx, audit.OrderReopened, o, out.TxID, 0, truncate(out.Reason, 500))); err == nil {
				reopened++
			} else if !errors.Is(err, ErrNotSubmitted) {
				return filled, reopened, fmt.Errorf("reopen order: %w", err)
			}
		case OutcomeReplaced:
			if _, err := s.store.Resubmit(ctx, o.UUID, o.TxID, out.TxID, s.now()); err != nil && !errors.Is(err, ErrNotSubmitted) {
				return filled, reopened, fmt.Errorf("record replacement: %w", err)
			}
		}
	}
	return filled, reopened, nil
}

// RunTracker calls Track every interval until ctx ends (a Tracker settlement only).
func (s *Service) RunTracker(ctx context.Context, interval time.Duration) {
	if _, ok := s.settle.(Tracker); !ok {
		return
	}
	every.Interval(ctx, interval, true, func() {
		if f, r, err := s.Track(ctx, 500); err != nil {
			s.log.Warn("track submitted orders failed", slog.Any("error", err))
		} else if f+r > 0 {
			s.log.Info("tracked orders", slog.Int("filled", f), slog.Int("reopened", r))
		}
	})
}

// Sweep expires open orders past validTo. A store may expire them in
// batches, so it loops until a batch comes back short (bounded, in case
// another instance keeps producing work).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	total := 0
	for range 100 {
		n, err := s.store.Expire(ctx, "", s.now())
		if err != nil {
			return total, fmt.Errorf("expire orders: %w", err)
		}
		total += n
		if n < ExpireBatch {
			break
		}
	}
	return total, nil
}

// ExpireBatch is the most orders one Store.Expire("") call needs to expire.
const ExpireBatch = 1000

// RunMaintenance reconciles and sweeps every interval until ctx ends.
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) {
	run := func() {
		if f, r, err := s.Reconcile(ctx, s.cfg.ReconcileAfter); err != nil {
			s.log.Warn("reconcile failed", slog.Any("error", err))
		} else if f+r > 0 {
			s.log.Info("reconciled orders", slog.Int("filled", f), slog.Int("released", r))
		}
		if n, err := s.Sweep(ctx); err != nil {
			s.log.Warn("expiry sweep failed", slog.Any("error", err))
		} else if n > 0 {
			s.log.Info("expired orders", slog.Int("count", n))
		}
	}
	every.Interval(ctx, interval, true, run)
}

// canonicalSignature stores the signature as lower-case RSV hex, whatever
// encoding the client used. Only an ambiguous encoding (both ends could be a
// recovery id) costs another recovery to tell which one verified.
func canonicalSignature(o ordersig.Order, d stacks.Domain, sigHex string) (string, error) {
	cands, err := stacks.DecodeSignature(sigHex)
	if err != nil {
		return "", errSignatureInput.Wrap(err)
	}
	if len(cands) == 1 {
		return cands[0].String(), nil
	}
	hash, err := ordersig.Hash(o, d)
	if err != nil {
		return "", fmt.Errorf("hash order: %w", err)
	}
	owner, err := stacks.ParseAddress(o.Owner)
	if err != nil {
		return "", fmt.Errorf("parse owner: %w", err)
	}
	n, _ := owner.Network()
	for _, c := range cands {
		pub, err := stacks.RecoverPublicKey(hash, c)
		if err != nil {
			continue
		}
		if a, err := stacks.AddressFromPublicKey(pub, n); err == nil && a == owner {
			return c.String(), nil
		}
	}
	return "", errBadSignature
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
