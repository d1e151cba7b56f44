package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// An order settled on chain by the stacks settlement shows its state, its
// txid, the block that filled it and a link to the Stacks explorer of the
// gateway's network; a submitted one its broadcast time and no block yet.
func TestPrintOrderOnChain(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	txid := "0x" + strings.Repeat("ab", 32)
	settlement := client.SettlementKind("stacks")
	height := int64(4242)
	o := &client.Order{UUID: "chain-1", Terms: client.Terms{Owner: "ST1OWNER", InputToken: "ST1X.token-a", OutputToken: "ST1X.token-b",
		AmountIn: "1000", TargetPrice: "0.30", Direction: "gt", ConditionToken: "ST1X.token-a", Recipient: "ST1RECIPIENT"},
		ValidFrom: at, ValidTo: at.Add(time.Hour), Status: "filled", TxID: &txid, Settlement: &settlement,
		BlockHeight: &height, SubmittedAt: &at, FilledAt: ptrTime(at.Add(time.Minute))}
	var b strings.Builder
	printOrder(&b, o, stacks.Testnet)
	want := `uuid:        chain-1
state:       filled
owner:       ST1OWNER
trade:       1000 ST1X.token-a -> ST1X.token-b
condition:   gt 0.30 (ST1X.token-a)
recipient:   ST1RECIPIENT
valid:       2026-12-02T10:00:00Z .. 2026-12-02T11:00:00Z
txid:        ` + txid + `
settlement:  stacks
block:       4242
explorer:    https://explorer.hiro.so/txid/` + txid + `?chain=testnet
submitted:   2026-12-02T10:00:00Z
filled:      2026-12-02T10:01:00Z
`
	if b.String() != want {
		t.Fatalf("printOrder:\n%s\nwant\n%s", b.String(), want)
	}

	o.Status, o.BlockHeight, o.FilledAt = "submitted", nil, nil
	b.Reset()
	printOrder(&b, o, stacks.Mainnet)
	if !strings.Contains(b.String(), "\nstate:       submitted\n") || strings.Contains(b.String(), "block:") ||
		!strings.Contains(b.String(), "\nexplorer:    https://explorer.hiro.so/txid/"+txid+"?chain=mainnet\n") {
		t.Fatalf("submitted order:\n%s", b.String())
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
