package stacks_test

import (
	"encoding/hex"
	"fmt"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Build, sign and serialise a contract call, then decode it and check its
// origin signature as a node does. The bytes are what POST /v2/transactions
// takes (application/octet-stream).
func ExampleNewContractCall() {
	key, _ := stacks.ParsePrivateKey("000000000000000000000000000000000000000000000000000000000000000101")
	contract, _ := stacks.ParsePrincipal("ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.counter")
	tx, err := stacks.NewContractCall(stacks.Testnet, contract, "bump", []stacks.Value{stacks.UInt(1)},
		stacks.TxOptions{PostConditionMode: stacks.PostConditionAllow}) // nonce 0, fee 0
	if err != nil {
		panic(err)
	}
	if err := tx.Sign(key); err != nil {
		panic(err)
	}
	raw, _ := tx.Serialize()
	id, _ := tx.TxID()
	fmt.Println(len(raw), "bytes, txid", id)

	back, _ := stacks.ParseTransaction(raw)
	pub, err := back.VerifyOrigin()
	fmt.Println(back.OriginAddress(), hex.EncodeToString(pub), err)
	// Output:
	// 171 bytes, txid 0x70f0544a3ed6ce95904a46be5aeaf7cc64fe72d82ec9c4cf5330e34dbd00b06e
	// ST1THWXQ8368SDN2MJGE4BMDKMCHZ2GSVTSQDA7QF 0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798 <nil>
}
