package order_test

import (
	"context"
	"log/slog"
	"math/big"
	"regexp"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

var pricePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// FuzzCreateOrder drives order validation through the exported Service with
// arbitrary field values, either signed for real by the owner's key (so
// validation, not the signature, decides) or with an arbitrary signature.
// Create must refuse only with a client fault (400, 401, 409: never a 500),
// and whatever it stores must obey every order rule and read back unchanged.
func FuzzCreateOrder(f *testing.F) {
	const (
		sbtc = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
		wstx = "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx"
		me   = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	)
	f.Add(me, sbtc, wstx, "1000000", "0.30", "gt", sbtc, me, "o-1", "2026-11-22T11:59:00Z", "2026-11-22T13:00:00Z", "", true)
	f.Add(me, sbtc, wstx, "340282366920938463463374607431768211455", "1", "lt", wstx, sbtc, "A_z-9", "2026-11-22T11:59:00.123456789+02:00", "2026-12-21T11:59:00Z", "", true)
	f.Add(me, sbtc, wstx, "340282366920938463463374607431768211456", "0.0", "gt", sbtc, me, "o-2", "1969-12-31T23:59:59Z", "2026-11-22T13:00:00Z", "", true)
	f.Add("ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG", sbtc, wstx, "01", "1e5", "GT", sbtc, me, "", "2026-11-22", "tomorrow", "0x00", false)
	f.Add(me, "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR.a-contract-name-that-is-quite-long", wstx, "-1", ".5", "lt", sbtc, me, "uuid with spaces", "2026-11-22T13:00:00Z", "2026-11-22T12:00:00Z", "zz", false)
	f.Add(sbtc, sbtc, wstx, "1", "1", "gt", sbtc, me, "contract-owner", "2026-11-22T11:00:00Z", "2026-11-22T12:30:00Z", "", true)

	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	key, err := stacks.ParsePrivateKey("73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801")
	if err != nil {
		f.Fatal(err)
	}
	domain := stacks.NewDomain("stxgate", "1", stacks.Mainnet)
	const maxLifetime = 720 * time.Hour
	maxAmount := new(big.Int).Lsh(big.NewInt(1), 128)

	f.Fuzz(func(t *testing.T, owner, in, out, amount, price, direction, cond, recipient, uuid, from, to, sig string, signIt bool) {
		svc := order.NewService(memory.NewOrders(), settlement.NewSimulated(nil), order.Config{
			Network: stacks.Mainnet, Domain: domain, MaxLifetime: maxLifetime, ReconcileAfter: time.Minute,
		}, func() time.Time { return now }, slog.New(slog.DiscardHandler))
		n := order.NewOrder{Terms: ordersig.Terms{Owner: owner, InputToken: in, OutputToken: out, AmountIn: amount, TargetPrice: price,
			Direction: ordersig.Direction(direction), ConditionToken: cond, Recipient: recipient}, UUID: uuid, ValidFrom: from, ValidTo: to, Signature: sig}
		signedByOwner := false
		if signIt {
			fromT, _ := time.Parse(time.RFC3339Nano, from)
			toT, _ := time.Parse(time.RFC3339Nano, to)
			s, err := ordersig.Sign(key, ordersig.Order{Owner: owner, InputToken: in, OutputToken: out, AmountIn: amount,
				TargetPrice: price, Direction: direction, ConditionToken: cond, Recipient: recipient, UUID: uuid,
				ValidFrom: fromT.Unix(), ValidTo: toT.Unix()}, domain)
			if err == nil {
				n.Signature = s
				signedByOwner = owner == key.Address(stacks.Mainnet).String()
			}
		}
		ctx := context.Background()
		create := func() (*order.Order, error) {
			v, err := svc.Verify(n, order.WalletCaller(n.Owner))
			if err != nil {
				return nil, err
			}
			return svc.Create(ctx, v)
		}
		o, err := create()
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || (fe.Kind != fault.KindInvalid && fe.Kind != fault.KindUnauthenticated) {
				t.Fatalf("refused with a non-client error (would be a 500): %v", err)
			}
			if signedByOwner && fe.Kind == fault.KindUnauthenticated {
				t.Fatalf("the owner's own signature was refused: %v", err)
			}
			return
		}
		// Everything stored obeys the rules.
		v, ok := new(big.Int).SetString(o.AmountIn, 10)
		switch {
		case !ok || v.Sign() <= 0 || v.Cmp(maxAmount) >= 0 || v.String() != o.AmountIn:
			t.Fatalf("stored amount %q", o.AmountIn)
		case !pricePattern.MatchString(o.TargetPrice):
			t.Fatalf("stored price %q", o.TargetPrice)
		case o.Direction != "gt" && o.Direction != "lt":
			t.Fatalf("stored direction %q", o.Direction)
		case !order.ValidUUID(o.UUID):
			t.Fatalf("stored uuid %q", o.UUID)
		case o.ValidFrom.Unix() >= o.ValidTo.Unix() || !o.ValidTo.After(now) || o.ValidTo.Sub(o.ValidFrom) > maxLifetime || o.ValidFrom.Unix() < 0:
			t.Fatalf("stored window %s..%s", o.ValidFrom, o.ValidTo)
		case o.Status != order.StatusOpen:
			t.Fatalf("stored status %q", o.Status)
		}
		ownerAddr, err := stacks.ParseAddress(o.Owner)
		if err != nil || stacks.CheckAddressNetwork(ownerAddr, stacks.Mainnet) != nil {
			t.Fatalf("stored owner %q: %v", o.Owner, err)
		}
		for _, p := range []string{o.InputToken, o.OutputToken, o.ConditionToken, o.Recipient} {
			pr, err := stacks.ParsePrincipal(p)
			if err != nil || stacks.CheckAddressNetwork(pr.Address, stacks.Mainnet) != nil {
				t.Fatalf("stored principal %q: %v", p, err)
			}
			if !pr.IsContract() && p != o.Recipient {
				t.Fatalf("stored token %q is not a contract", p)
			}
		}
		if o.InputToken == o.OutputToken {
			t.Fatalf("stored an order swapping %q for itself", o.InputToken)
		}
		got, err := svc.Get(ctx, uuid)
		if err != nil || got.UUID != uuid || got.Owner != owner || got.AmountIn != amount || got.TargetPrice != price ||
			got.Signature != o.Signature {
			t.Fatalf("read back %+v: %v", got, err)
		}
		if _, err := create(); err == nil {
			t.Fatalf("second create of %q accepted", uuid)
		} else if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindConflict {
			t.Fatalf("second create of %q: %v, want 409", uuid, err)
		}
	})
}
