// Package stacks is the stacks settlement: the gateway is the executor. It
// builds the settlement contract's execute-order call for an order, signs it
// with an executor account's key, reserves its nonce in PostgreSQL (shared by
// every gateway), broadcasts it to a Stacks node and follows it to its outcome.
// Several executor accounts (a pool) take orders in turn, so the mempool's
// limit of unconfirmed transactions per account bounds each, not the gateway.
package stacks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/every"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/pkg/ordersig"
	sx "github.com/stxgate/stxgate/pkg/stacks"
)

// Name is the settlement's name on orders and in answers.
const Name = "stacks"

// Config configures an Executor.
type Config struct {
	// Keys are the executor accounts' keys (never logged): one, or a pool.
	// Each account must be an authorised executor of the contract and hold
	// STX for fees.
	Keys       []*sx.PrivateKey
	Network    sx.Network
	Domain     sx.Domain // SIP-018 domain orders are signed under
	NodeURL    string    // stacks-node / Hiro API base URL
	Contract   string    // <address>.<name> of the settlement contract
	FeeFloor   uint64    // µSTX
	FeeCap     uint64    // µSTX
	ChainLimit int       // unconfirmed transactions per account; 0: 25
	// StuckAfter: a transaction pending this long is replaced by fee.
	StuckAfter time.Duration
	// QueueWait: how long Settle waits for a free chain slot on any account
	// before leaving the order executing for reconciliation (queueing).
	QueueWait time.Duration
	// Slippage in basis points below get-quote that the payout floor allows.
	SlippageBps uint64
	HTTPTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Executor implements order.Settlement and order.Tracker.
type Executor struct {
	cfg      Config
	node     *node
	accounts []*account
	byAddr   map[string]*account
	turn     atomic.Uint64 // the account the next reservation tries first
	queued   atomic.Int64  // settlements left for reconciliation: every account's chain was full
	contract sx.Principal
	log      *slog.Logger
	now      func() time.Time

	mu     sync.Mutex
	assets map[string]string // token contract → its fungible token's name
}

// account is one executor account of the pool: its key, its nonces and
// what it did.
type account struct {
	key     *sx.PrivateKey
	address string
	ledger  *ledger
	metrics Metrics
}

// New returns an Executor whose nonces live in pool.
func New(pool *pgxpool.Pool, cfg Config) (*Executor, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("stacks settlement: no executor key")
	}
	contract, err := sx.ParsePrincipal(cfg.Contract)
	if err != nil || !contract.IsContract() {
		return nil, fmt.Errorf("stacks settlement: contract %q is not <address>.<name>", cfg.Contract)
	}
	if cfg.FeeCap < cfg.FeeFloor {
		return nil, fmt.Errorf("stacks settlement: fee cap %d is below the floor %d", cfg.FeeCap, cfg.FeeFloor)
	}
	if cfg.ChainLimit <= 0 {
		cfg.ChainLimit = 25
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Executor{
		cfg: cfg, node: &node{url: strings.TrimRight(cfg.NodeURL, "/"), http: &http.Client{Timeout: cfg.HTTPTimeout}},
		byAddr: map[string]*account{}, contract: contract, log: cfg.Logger, now: cfg.Now, assets: map[string]string{},
	}
	var addrs []string
	for _, k := range cfg.Keys {
		if k == nil {
			return nil, errors.New("stacks settlement: no executor key")
		}
		addr := k.Address(cfg.Network).String()
		if e.byAddr[addr] != nil {
			return nil, fmt.Errorf("stacks settlement: executor account %s is configured twice", addr)
		}
		a := &account{key: k, address: addr}
		e.accounts, e.byAddr[addr], addrs = append(e.accounts, a), a, append(addrs, addr)
	}
	for _, a := range e.accounts {
		a.ledger = &ledger{pool: pool, address: a.address, accounts: addrs}
	}
	return e, nil
}

// Name implements order.Settlement.
func (e *Executor) Name() string { return Name }

// Accounts are the executor accounts' addresses, in configuration order.
func (e *Executor) Accounts() []string {
	out := make([]string, len(e.accounts))
	for i, a := range e.accounts {
		out[i] = a.address
	}
	return out
}

// first is the account for what is not an account's own doing (read-only
// calls, fee estimates).
func (e *Executor) first() *account { return e.accounts[0] }

// of is the account of a slot the ledger returned (only the pool's accounts
// are ever looked up).
func (e *Executor) of(s *slot) *account { return e.byAddr[s.Address] }

// Settle implements order.Settlement: it broadcasts the order's transaction
// and returns its txid. Asked again for the same claim (reconciliation), it
// re-broadcasts the same signed bytes under the same nonce.
func (e *Executor) Settle(ctx context.Context, o *order.Order) (string, error) {
	s, err := e.first().ledger.forOrder(ctx, o.UUID, o.Attempts)
	if err != nil {
		return "", err
	}
	if s != nil {
		return e.rebroadcast(ctx, s, true)
	}
	for range 3 { // a re-nonce after BadNonce or ConflictingNonceInMempool
		s, err := e.reserve(ctx, o)
		if err != nil {
			return "", err
		}
		txid, err, again := e.send(ctx, s, true)
		if !again {
			return txid, err
		}
	}
	return "", errors.New("stacks settlement: the node refused three nonces in a row")
}

// reserve builds, signs and records the order's transaction under a fresh
// nonce of one of the accounts, taking them in turn and skipping those whose
// chain is full, waiting (up to QueueWait) while all are.
func (e *Executor) reserve(ctx context.Context, o *order.Order) (*slot, error) {
	tx, err := e.build(ctx, o)
	if err != nil {
		return nil, err
	}
	fee, err := e.fee(ctx, tx)
	if err != nil {
		return nil, err
	}
	deadline := e.now().Add(e.cfg.QueueWait)
	for {
		start := e.turn.Add(1) - 1
		for i := range e.accounts {
			a := e.accounts[(start+uint64(i))%uint64(len(e.accounts))]
			s, err := e.reserveOn(ctx, a, o, tx, fee)
			if !errors.Is(err, errChainFull) {
				return s, err
			}
		}
		if !e.now().Before(deadline) {
			e.queued.Add(1)
			return nil, fmt.Errorf("stacks settlement: queued: %d unconfirmed transactions on each of the %d executor accounts; reconciliation will send it",
				e.cfg.ChainLimit, len(e.accounts))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// reserveOn reserves the order's transaction on account a (errChainFull
// when its chain is full).
func (e *Executor) reserveOn(ctx context.Context, a *account, o *order.Order, tx *sx.Transaction, fee uint64) (*slot, error) {
	an, err := e.node.nonces(ctx, a.address)
	if err != nil {
		return nil, err
	}
	if err := a.ledger.minedBelow(ctx, an.confirmed(), e.now()); err != nil {
		return nil, err
	}
	s, _, err := a.ledger.reserve(ctx, o.UUID, o.Attempts, an.PossibleNext, an.confirmed(), e.cfg.ChainLimit, e.now(), func(nonce uint64) ([]byte, string, uint64, error) {
		return e.sign(a, tx, nonce, fee)
	})
	return s, err
}

// sign signs tx as account a's transaction under nonce with fee.
func (e *Executor) sign(a *account, tx *sx.Transaction, nonce, fee uint64) ([]byte, string, uint64, error) {
	tx.Origin.Nonce, tx.Origin.Fee = nonce, fee
	if err := tx.Sign(a.key); err != nil {
		return nil, "", 0, fmt.Errorf("sign transaction: %w", err)
	}
	raw, err := tx.Serialize()
	if err != nil {
		return nil, "", 0, fmt.Errorf("serialize transaction: %w", err)
	}
	id, err := tx.TxID()
	if err != nil {
		return nil, "", 0, err
	}
	return raw, "0x" + id.Hex(), fee, nil
}

// send broadcasts a reserved slot and maps the node's answer: again is true
// when the order needs another nonce (the slot is retired). owned says the
// slot's order is executing under this call (Settle): only then does a
// definitive refusal give the nonce back and fail the settlement. A
// re-broadcast for a submitted order (tracker, gap filler) that is refused
// keeps the slot: the order still shows its transaction, and the next round
// tries again or replaces it by fee.
func (e *Executor) send(ctx context.Context, s *slot, owned bool) (txid string, err error, again bool) {
	a := e.of(s)
	for try := 0; ; try++ {
		start := time.Now()
		err := e.node.broadcast(ctx, s.Raw)
		a.metrics.observeBroadcast(time.Since(start), err)
		if err == nil {
			if err := a.ledger.markBroadcast(ctx, s.Nonce, e.now()); err != nil {
				e.log.Warn("record broadcast", slog.Any("error", err))
			}
			return s.TxID, nil, false
		}
		var rej *Rejection
		if !errors.As(err, &rej) {
			// Unknown outcome: the slot stays pending with its bytes, and
			// reconciliation re-broadcasts them.
			return "", err, false
		}
		switch rej.Reason {
		case "BadNonce", "ConflictingNonceInMempool":
			// Mined or pending already under one of our signings of this
			// slot (a replacement's predecessor, a crash's re-broadcast, one
			// another gateway signed meanwhile)? Then the nonce is ours and
			// so is the outcome.
			if cur, err := a.ledger.byNonce(ctx, s.Nonce); err != nil {
				return "", err, false
			} else if cur != nil && cur.State == "pending" && cur.OrderUUID == s.OrderUUID {
				s.TxIDs = cur.TxIDs
			}
			for i := len(s.TxIDs) - 1; i >= 0; i-- {
				if t, found, _ := e.node.tx(ctx, s.TxIDs[i]); found && !strings.HasPrefix(t.Status, "dropped") {
					return s.TxIDs[i], nil, false
				}
			}
			state := "void" // the nonce is taken by another transaction
			if err := a.ledger.release(ctx, s.Nonce, state, e.now()); err != nil {
				return "", err, false
			}
			if n, ok := rej.expected(); ok && rej.Reason == "BadNonce" {
				if err := a.ledger.raiseNext(ctx, n); err != nil {
					return "", err, false
				}
			}
			e.log.Warn("stacks node refused the nonce; taking another", slog.String("reason", rej.Reason),
				slog.String("uuid", s.OrderUUID), slog.String("executor", s.Address), slog.Uint64("nonce", s.Nonce))
			return "", nil, true
		case "FeeTooLow":
			want, ok := rej.expected()
			if !ok || want > e.cfg.FeeCap || try >= 2 {
				return "", e.refuse(ctx, s, rej, fmt.Sprintf("the node wants a fee above the cap of %d µSTX", e.cfg.FeeCap), owned), false
			}
			if err := e.resign(ctx, s, max(want, s.Fee+1)); err != nil {
				return "", err, false
			}
		case "TooMuchChaining", "NotEnoughFunds", "ServerFailureOther", "ServerFailureDatabase":
			if try >= 2 {
				if rej.Reason == "TooMuchChaining" {
					// Queued: the bytes stay reserved; reconciliation sends them once the chain moves.
					return "", fmt.Errorf("stacks settlement: %w; queued for reconciliation", rej), false
				}
				return "", e.refuse(ctx, s, rej, reasonText(rej.Reason), owned), false
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err(), false
			case <-time.After(time.Duration(try+1) * 300 * time.Millisecond):
			}
		default:
			return "", e.refuse(ctx, s, rej, reasonText(rej.Reason), owned), false
		}
	}
}

func reasonText(reason string) string {
	switch reason {
	case "NotEnoughFunds":
		return "the executor account cannot pay the fee (fund it)"
	case "TooMuchChaining":
		return "too many unconfirmed transactions on the executor account"
	}
	return "refused by the node"
}

// refuse gives the nonce back and answers a definitive rejection of an
// owned slot; a re-broadcast's refusal keeps the slot for the next round.
func (e *Executor) refuse(ctx context.Context, s *slot, rej *Rejection, why string, owned bool) error {
	if !owned {
		return fmt.Errorf("stacks settlement: the node refused the re-broadcast of nonce %d of %s: %w (%s); tried again next round", s.Nonce, s.Address, rej, why)
	}
	a := e.of(s)
	if err := a.ledger.release(ctx, s.Nonce, "free", e.now()); err != nil {
		return err
	}
	a.metrics.Rejected.Add(1)
	return fmt.Errorf("%w: stacks node: %s (%s)", order.ErrSettlementRejected, rej.Reason, why)
}

// resign signs the slot's transaction again under its nonce with fee.
func (e *Executor) resign(ctx context.Context, s *slot, fee uint64) error {
	tx, err := sx.ParseTransaction(s.Raw)
	if err != nil {
		return fmt.Errorf("parse reserved transaction: %w", err)
	}
	a := e.of(s)
	raw, txid, fee, err := e.sign(a, tx, s.Nonce, min(fee, e.cfg.FeeCap))
	if err != nil {
		return err
	}
	ok, err := a.ledger.replace(ctx, s.Nonce, s.TxID, txid, fee, raw, e.now())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("stacks settlement: the reserved transaction changed meanwhile")
	}
	s.Raw, s.TxID, s.Fee = raw, txid, fee
	s.TxIDs = append(s.TxIDs, txid)
	return nil
}

// errRetired: the node refused a slot's nonce as used by a transaction not
// ours; the slot is void and its order needs another nonce.
var errRetired = errors.New("stacks settlement: the node refused the reserved nonce as used by another transaction; the order's slot is retired")

// rebroadcast sends a slot's bytes again (idempotent at the node) unless
// the transaction is already known. owned as for send.
func (e *Executor) rebroadcast(ctx context.Context, s *slot, owned bool) (string, error) {
	if s.State == "mined" {
		return s.TxID, nil
	}
	if t, found, err := e.node.tx(ctx, s.TxID); err == nil && found && !strings.HasPrefix(t.Status, "dropped") {
		return s.TxID, nil
	}
	if s.BroadcastAt != nil {
		// The node accepted these bytes once: even dropped, they may come
		// back (a re-broadcast, a peer's mempool), so the nonce stays the
		// order's and the order is submitted with them; the tracker
		// re-broadcasts or replaces them by fee. A refusal now never gives
		// the nonce back to another order.
		owned = false
	}
	txid, err, again := e.send(ctx, s, owned)
	switch {
	case again:
		return "", errRetired
	case err != nil && !owned && s.BroadcastAt != nil:
		e.log.Warn("re-broadcast refused; the tracker retries or replaces it", slog.String("uuid", s.OrderUUID),
			slog.Uint64("nonce", s.Nonce), slog.Any("error", err))
		return s.TxID, nil
	}
	return txid, err
}

// build makes the unsigned execute-order call for o: the order tuple and
// signature, the two token traits, in deny mode with the owners' side capped
// at amount-in of the input token and the payout floored at get-quote less
// the slippage allowance.
func (e *Executor) build(ctx context.Context, o *order.Order) (*sx.Transaction, error) {
	so := ordersig.Order{Owner: o.Owner, InputToken: o.InputToken, OutputToken: o.OutputToken, AmountIn: o.AmountIn,
		TargetPrice: o.TargetPrice, Direction: o.Direction, ConditionToken: o.ConditionToken, Recipient: o.Recipient,
		UUID: o.UUID, ValidFrom: o.ValidFrom.Unix(), ValidTo: o.ValidTo.Unix()}
	args, err := ordersig.ExecuteOrderArgs(so, e.cfg.Domain, o.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: order signature: %v", order.ErrSettlementRejected, err)
	}
	traits, err := ordersig.TokenTraitArgs(so)
	if err != nil {
		return nil, fmt.Errorf("%w: order tokens: %v", order.ErrSettlementRejected, err)
	}
	inName, err := e.assetName(ctx, o.InputToken)
	if err != nil {
		return nil, err
	}
	outName, err := e.assetName(ctx, o.OutputToken)
	if err != nil {
		return nil, err
	}
	inputCap, err := ordersig.InputCap(so, e.contract, inName)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", order.ErrSettlementRejected, err)
	}
	minOut, err := e.minOut(ctx, traits, o.AmountIn)
	if err != nil {
		return nil, err
	}
	outAsset, err := sx.ParseAssetInfo(o.OutputToken + "::" + outName)
	if err != nil {
		return nil, err
	}
	payout := sx.FungibleSentAtLeast(e.contract, outAsset, minOut)
	return sx.NewExecuteOrder(e.cfg.Network, e.contract, append(args, traits...), []sx.PostCondition{inputCap, payout},
		sx.TxOptions{})
}

// minOut is get-quote's payout for amountIn less the slippage allowance
// (at least 1: the payout post-condition must allow the transfer).
func (e *Executor) minOut(ctx context.Context, traits []sx.Value, amountIn string) (uint64, error) {
	amount, err := sx.UIntFromString(amountIn)
	if err != nil {
		return 0, err
	}
	res, err := e.node.callReadOnly(ctx, e.cfg.Contract, "get-quote", e.first().address,
		[][]byte{sx.Serialize(traits[0]), sx.Serialize(traits[1]), sx.Serialize(amount)})
	if err != nil {
		return 0, fmt.Errorf("stacks settlement: quote: %w", err)
	}
	v, err := sx.ParseValueHex(res)
	if err != nil {
		return 0, fmt.Errorf("stacks settlement: quote: %w", err)
	}
	isResp, ok, inner := sx.ResponseOf(v)
	if !isResp || !ok {
		return 0, fmt.Errorf("%w: get-quote refused the pair: %s", order.ErrSettlementRejected, sx.Repr(v))
	}
	out, ok := sx.UInt64Of(inner)
	if !ok {
		return 0, fmt.Errorf("stacks settlement: quote %s is not a uint", sx.Repr(inner))
	}
	floor := out - out*e.cfg.SlippageBps/10_000
	return max(floor, 1), nil
}

func (e *Executor) assetName(ctx context.Context, token string) (string, error) {
	e.mu.Lock()
	name, ok := e.assets[token]
	e.mu.Unlock()
	if ok {
		return name, nil
	}
	name, err := e.node.fungibleTokenName(ctx, token)
	if err != nil {
		return "", fmt.Errorf("stacks settlement: %w", err)
	}
	e.mu.Lock()
	e.assets[token] = name
	e.mu.Unlock()
	return name, nil
}

// fee is the node's estimate for tx clamped to the floor and cap (the floor
// when the node has no estimate).
func (e *Executor) fee(ctx context.Context, tx *sx.Transaction) (uint64, error) {
	payload, err := sx.SerializePayload(tx.Payload)
	if err != nil {
		return 0, err
	}
	raw, _, _, err := e.sign(e.first(), tx, 0, e.cfg.FeeFloor)
	if err != nil {
		return 0, err
	}
	est, ok, err := e.node.estimateFee(ctx, payload, len(raw))
	if err != nil {
		return 0, err
	}
	if !ok {
		return e.cfg.FeeFloor, nil
	}
	return min(max(est, e.cfg.FeeFloor), e.cfg.FeeCap), nil
}

// Track implements order.Tracker.
func (e *Executor) Track(ctx context.Context, o *order.Order) (order.Outcome, error) {
	s, err := e.first().ledger.forOrder(ctx, o.UUID, o.Attempts)
	if err != nil {
		return order.Outcome{}, err
	}
	if s == nil {
		return e.trackUnrecorded(ctx, o)
	}
	// Newest first: a replacement is the likely winner, but any of them may be.
	var newest chainTx
	newestFound, anyPending := false, false
	for i := len(s.TxIDs) - 1; i >= 0; i-- {
		id := s.TxIDs[i]
		t, found, err := e.node.tx(ctx, id)
		if err != nil {
			return order.Outcome{}, err
		}
		if id == s.TxID {
			newest, newestFound = t, found
		}
		if !found {
			continue
		}
		anyPending = anyPending || t.Status == "pending"
		switch t.Status {
		case "success":
			e.mined(ctx, s)
			e.of(s).metrics.observeConfirm(since(s.BroadcastAt, e.now()), s.Fee)
			return order.Outcome{State: order.OutcomeConfirmed, TxID: id, BlockHeight: t.BlockHeight}, nil
		case "abort_by_response", "abort_by_post_condition":
			e.mined(ctx, s)
			if t.Status == "abort_by_response" && t.Result.Repr == errUUIDUsed {
				if out, ours, err := e.filledBefore(ctx, o); err != nil || ours {
					return out, err
				}
			}
			reason := fmt.Sprintf("transaction %s aborted on chain (%s): %s", id, t.Status, t.Result.Repr)
			if t.PostConditionFailure != "" {
				reason += "; " + t.PostConditionFailure
			}
			return order.Outcome{State: order.OutcomeAborted, TxID: id, Reason: reason}, nil
		}
	}
	if s.State == "mined" && !anyPending {
		// The chain has used the slot's nonce (the ledger saw the account's
		// confirmed nonce pass it), yet with none of the slot's
		// transactions: another transaction took it, none of ours can be
		// mined, and the order can be executed again.
		return retiredOutcome(s, nil)
	}
	if o.TxID != s.TxID {
		// A replacement the order does not show yet.
		return order.Outcome{State: order.OutcomeReplaced, TxID: s.TxID}, nil
	}
	dropped := newestFound && strings.HasPrefix(newest.Status, "dropped")
	stuck := e.cfg.StuckAfter > 0 && s.BroadcastAt != nil && since(s.BroadcastAt, e.now()) > e.cfg.StuckAfter
	switch {
	case !newestFound && s.BroadcastAt == nil, !newestFound && !stuck:
		// Never accepted, or the node lost it: the same bytes again.
		if _, err := e.rebroadcast(ctx, s, false); err != nil {
			return retiredOutcome(s, err)
		}
		return order.Outcome{State: order.OutcomePending}, nil
	case dropped || stuck:
		return e.replaceByFee(ctx, s)
	}
	return order.Outcome{State: order.OutcomePending}, nil
}

// errUUIDUsed is the settlement contract's answer to an order uuid that is
// already executed on chain (ERR-UUID-USED).
const errUUIDUsed = "(err u1003)"

// filledBefore looks up who executed o's uuid on chain when a transaction of
// o aborted with errUUIDUsed: if it was one of the executor's own earlier
// transactions for o (an earlier claim whose success the gateway missed),
// the order is filled by that one, at its block. ours is false when the
// contract has no record or the executing transaction is not ours.
func (e *Executor) filledBefore(ctx context.Context, o *order.Order) (out order.Outcome, ours bool, err error) {
	uuid, err := sx.StringASCII(o.UUID)
	if err != nil {
		return out, false, nil
	}
	res, err := e.node.callReadOnly(ctx, e.cfg.Contract, "get-executed", e.first().address, [][]byte{sx.Serialize(uuid)})
	if err != nil {
		return out, false, fmt.Errorf("stacks settlement: look up executed uuid %s: %w", o.UUID, err)
	}
	if v, err := sx.ParseValueHex(res); err != nil || sx.Repr(v) == "none" {
		return out, false, err
	}
	txids, err := e.first().ledger.orderTxIDs(ctx, o.UUID)
	if err != nil {
		return out, false, err
	}
	for _, id := range txids {
		t, found, err := e.node.tx(ctx, id)
		if err != nil {
			return out, false, err
		}
		if found && t.Status == "success" && t.ContractCall.FunctionName == "execute-order" {
			e.log.Info("order already filled on chain by an earlier transaction of the executor", slog.String("uuid", o.UUID),
				slog.String("txid", id), slog.Int64("block_height", t.BlockHeight))
			return order.Outcome{State: order.OutcomeConfirmed, TxID: id, BlockHeight: t.BlockHeight}, true, nil
		}
	}
	return out, false, nil
}

// retiredOutcome is what a refused re-broadcast means for a submitted
// order: when the node gave its nonce to a transaction not ours (the slot
// is void), none of ours can be mined and the order opens again; any other
// refusal is retried next round.
func retiredOutcome(s *slot, err error) (order.Outcome, error) {
	if err == nil || errors.Is(err, errRetired) {
		return order.Outcome{State: order.OutcomeAborted, TxID: s.TxID,
			Reason: fmt.Sprintf("nonce %d of transaction %s was used by another transaction; the order can be executed again", s.Nonce, s.TxID)}, nil
	}
	return order.Outcome{}, err
}

// trackUnrecorded follows a submitted order whose claim has no live slot in
// the ledger (it was retired, or the ledger lost it) by the txid the order
// shows: mined, it is the outcome; unknown to the node or dropped, nothing
// of this claim can be mined any more and the order opens again.
func (e *Executor) trackUnrecorded(ctx context.Context, o *order.Order) (order.Outcome, error) {
	t, found, err := e.node.tx(ctx, o.TxID)
	if err != nil {
		return order.Outcome{}, err
	}
	switch {
	case found && t.Status == "success":
		return order.Outcome{State: order.OutcomeConfirmed, TxID: o.TxID, BlockHeight: t.BlockHeight}, nil
	case found && t.Status == "pending":
		return order.Outcome{State: order.OutcomePending}, nil
	case found && strings.HasPrefix(t.Status, "abort"):
		return order.Outcome{State: order.OutcomeAborted, TxID: o.TxID,
			Reason: fmt.Sprintf("transaction %s aborted on chain (%s): %s", o.TxID, t.Status, t.Result.Repr)}, nil
	}
	return order.Outcome{State: order.OutcomeAborted, TxID: o.TxID,
		Reason: fmt.Sprintf("%v (uuid %s, claim %d) and the node has not mined %s; the order can be executed again", errNoTx, o.UUID, o.Attempts, o.TxID)}, nil
}

func (e *Executor) mined(ctx context.Context, s *slot) {
	if err := e.of(s).ledger.markMined(ctx, s.Nonce, e.now()); err != nil {
		e.log.Warn("record mined transaction", slog.Any("error", err))
	}
}

// replaceByFee re-signs the slot's transaction under the same nonce with a
// higher fee (a quarter more, within the cap) and broadcasts it. At the cap
// it re-broadcasts the same bytes instead: never a second nonce.
func (e *Executor) replaceByFee(ctx context.Context, s *slot) (order.Outcome, error) {
	fee := min(s.Fee+s.Fee/4+1, e.cfg.FeeCap)
	if fee <= s.Fee {
		if _, err, again := e.send(ctx, s, false); err != nil || again {
			return retiredOutcome(s, err)
		}
		return order.Outcome{State: order.OutcomePending}, nil
	}
	if err := e.resign(ctx, s, fee); err != nil {
		return order.Outcome{}, err
	}
	if _, err, again := e.send(ctx, s, false); err != nil || again {
		return retiredOutcome(s, err)
	}
	e.of(s).metrics.Replacements.Add(1)
	e.log.Info("replaced a dropped or stuck transaction by fee", slog.String("uuid", s.OrderUUID),
		slog.String("executor", s.Address), slog.Uint64("nonce", s.Nonce), slog.Uint64("fee", s.Fee), slog.String("txid", s.TxID))
	return order.Outcome{State: order.OutcomeReplaced, TxID: s.TxID}, nil
}

// FillGaps asks the node which of each account's nonces are missing below
// its mempool's highest and fills each: a reserved transaction is
// re-broadcast (a crash between reserving and broadcasting), a nonce given
// back by a refused broadcast gets a 1 µSTX transfer to the settlement
// contract. It returns how many it filled over all accounts.
func (e *Executor) FillGaps(ctx context.Context) (int, error) {
	filled := 0
	for _, a := range e.accounts {
		n, err := e.fillGaps(ctx, a)
		filled += n
		if err != nil {
			return filled, fmt.Errorf("executor account %s: %w", a.address, err)
		}
	}
	return filled, nil
}

func (e *Executor) fillGaps(ctx context.Context, a *account) (int, error) {
	an, err := e.node.nonces(ctx, a.address)
	if err != nil {
		return 0, err
	}
	if err := a.ledger.minedBelow(ctx, an.confirmed(), e.now()); err != nil {
		return 0, err
	}
	filled := 0
	for _, n := range an.Missing {
		s, err := a.ledger.byNonce(ctx, n)
		if err != nil {
			return filled, err
		}
		switch {
		case s == nil:
			e.log.Warn("nonce gap the executor never reserved (another signer uses this account?)",
				slog.String("executor", a.address), slog.Uint64("nonce", n))
			continue
		case s.State == "pending":
			if _, err, _ := e.send(ctx, s, false); err != nil {
				return filled, err
			}
		case s.State == "free":
			if err := e.filler(ctx, a, n); err != nil {
				return filled, err
			}
		default:
			continue
		}
		filled++
		a.metrics.GapsFilled.Add(1)
	}
	return filled, nil
}

func (e *Executor) filler(ctx context.Context, a *account, nonce uint64) error {
	tx, err := sx.NewTokenTransfer(e.cfg.Network, e.contract, 1, "stxgate nonce fill", sx.TxOptions{})
	if err != nil {
		return err
	}
	raw, txid, fee, err := e.sign(a, tx, nonce, e.cfg.FeeFloor)
	if err != nil {
		return err
	}
	ok, err := a.ledger.fill(ctx, nonce, txid, fee, raw, e.now())
	if err != nil || !ok {
		return err
	}
	return e.node.broadcast(ctx, raw)
}

// RunGapFiller calls FillGaps every interval until ctx ends.
func (e *Executor) RunGapFiller(ctx context.Context, interval time.Duration) {
	every.Interval(ctx, interval, false, func() {
		if n, err := e.FillGaps(ctx); err != nil {
			e.log.Warn("nonce gap check failed", slog.Any("error", err))
		} else if n > 0 {
			e.log.Info("filled executor nonce gaps", slog.Int("count", n))
		}
	})
}

// ParseKey reads the executor key file: 64 or 66 hex digits (compressed
// when it ends in 01), surrounding whitespace ignored. Errors never quote it.
func ParseKey(content []byte) (*sx.PrivateKey, error) {
	s := strings.TrimSpace(string(content))
	if _, err := hex.DecodeString(s); err != nil || (len(s) != 64 && len(s) != 66) {
		return nil, errors.New("the executor key file must hold the private key as 64 or 66 hex digits")
	}
	k, err := sx.ParsePrivateKey(s)
	if err != nil {
		return nil, errors.New("the executor key file holds no valid secp256k1 private key")
	}
	return k, nil
}
