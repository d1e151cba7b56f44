package ordersig

import "time"

// Terms are whose order it is, what it trades and on which condition, as
// every wire form of an order names them (the create body, the gateway's
// order view, the relayer's request), by embedding.
type Terms struct {
	Owner          string    `json:"owner"`
	InputToken     string    `json:"inputToken"`
	OutputToken    string    `json:"outputToken"`
	AmountIn       string    `json:"amountIn"`
	TargetPrice    string    `json:"targetPrice"`
	Direction      Direction `json:"direction"`
	ConditionToken string    `json:"conditionToken"`
	Recipient      string    `json:"recipient"`
}

// Direction is an order's price condition as the wire carries it: "gt"
// (execute above the target price) or "lt" (below). A typed string, so that
// the SDK's constants (client.DirectionGT, client.DirectionLT) compare with it.
type Direction string

// SignedOrder is an order with its owner's signature as the HTTP API carries
// it (the body of POST /api/v1/orders/new). Times are RFC 3339; the signed
// tuple carries them as whole unix seconds.
type SignedOrder struct {
	Terms
	Signature string `json:"signature"`
	UUID      string `json:"uuid"`
	ValidFrom string `json:"validFrom"`
	ValidTo   string `json:"validTo"`
}

// NewSignedOrder is o's wire form carrying signature sig.
func NewSignedOrder(o Order, sig string) SignedOrder {
	return SignedOrder{
		Terms: Terms{
			Owner: o.Owner, InputToken: o.InputToken, OutputToken: o.OutputToken, AmountIn: o.AmountIn,
			TargetPrice: o.TargetPrice, Direction: Direction(o.Direction), ConditionToken: o.ConditionToken, Recipient: o.Recipient,
		},
		Signature: sig, UUID: o.UUID,
		ValidFrom: time.Unix(o.ValidFrom, 0).UTC().Format(time.RFC3339),
		ValidTo:   time.Unix(o.ValidTo, 0).UTC().Format(time.RFC3339),
	}
}
