package client_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
)

// TestOrderJSONUnchanged: Order embeds the wire type's Terms and its JSON is
// to the byte what it was with the terms spelled out field by field (these
// golden strings were produced by that struct).
func TestOrderJSONUnchanged(t *testing.T) {
	const full = `{"uuid":"u-1","owner":"SPOWNER","inputToken":"SP1.in","outputToken":"SP2.out","amountIn":"1000",` +
		`"targetPrice":"0.30","direction":"gt","conditionToken":"SP1.in","recipient":"SPRECIPIENT",` +
		`"validFrom":"2026-12-02T10:00:00.12Z","validTo":"2026-12-02T11:00:00.12Z","status":"filled","txid":"0xab",` +
		`"settlement":"stacks","blockHeight":4242,"lastError":null,"createdAt":"2026-12-02T10:00:00.12Z",` +
		`"updatedAt":"2026-12-02T10:01:00.12Z","submittedAt":"2026-12-02T10:00:00.12Z","filledAt":"2026-12-02T10:00:00.12Z",` +
		`"cancelledAt":null,"expiredAt":null}`
	const zero = `{"uuid":"","owner":"","inputToken":"","outputToken":"","amountIn":"","targetPrice":"","direction":"",` +
		`"conditionToken":"","recipient":"","validFrom":"0001-01-01T00:00:00Z","validTo":"0001-01-01T00:00:00Z","status":"",` +
		`"txid":null,"settlement":null,"blockHeight":null,"lastError":null,"createdAt":"0001-01-01T00:00:00Z",` +
		`"updatedAt":"0001-01-01T00:00:00Z","submittedAt":null,"filledAt":null,"cancelledAt":null,"expiredAt":null}`
	at := time.Date(2026, 12, 2, 10, 0, 0, 120000000, time.UTC)
	txid := "0xab"
	kind := client.SettlementStacks
	h := int64(4242)
	o := client.Order{UUID: "u-1", Terms: client.Terms{Owner: "SPOWNER", InputToken: "SP1.in", OutputToken: "SP2.out",
		AmountIn: "1000", TargetPrice: "0.30", Direction: client.DirectionGT, ConditionToken: "SP1.in", Recipient: "SPRECIPIENT"},
		ValidFrom: at, ValidTo: at.Add(time.Hour), Status: client.StatusFilled, TxID: &txid, Settlement: &kind, BlockHeight: &h,
		CreatedAt: at, UpdatedAt: at.Add(time.Minute), SubmittedAt: &at, FilledAt: &at}
	for _, tc := range []struct {
		name string
		o    client.Order
		want string
	}{{"Full", o, full}, {"Zero", client.Order{}, zero}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("json\n got %s\nwant %s", b, tc.want)
			}
			var back client.Order
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if b2, _ := json.Marshal(back); string(b2) != tc.want {
				t.Fatalf("round trip\n got %s\nwant %s", b2, tc.want)
			}
		})
	}
	// The gateway's own form (milliseconds always written) decodes into the
	// promoted fields, the direction compares with the typed constant.
	gw := strings.ReplaceAll(full, ".12Z", ".120Z")
	var got client.Order
	if err := json.Unmarshal([]byte(gw), &got); err != nil {
		t.Fatal(err)
	}
	if got.Owner != "SPOWNER" || got.Recipient != "SPRECIPIENT" || got.Direction != client.DirectionGT || !got.FilledAt.Equal(at) {
		t.Fatalf("decoded %+v", got)
	}
}
