package ordersig_test

import (
	"fmt"

	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// An executor turns a stored, wallet-signed order into the execute-order
// transaction: the arguments come from the order and its signature, a
// deny-mode post-condition caps what the owner's side (here the settlement
// contract holding the owner's deposit) can send of the input token.
func Example_executeOrder() {
	owner, _ := stacks.ParsePrivateKey("e494f188c2d35887531ba474c433b1e41fadd8eb824aca983447fd4bb8b277a801")
	executor, _ := stacks.ParsePrivateKey("edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01")
	const deployer = "ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR"
	domain := stacks.NewDomain("stxgate", "1", stacks.Testnet)
	o := ordersig.Order{
		Owner: owner.Address(stacks.Testnet).String(), Recipient: owner.Address(stacks.Testnet).String(),
		InputToken: deployer + ".charisma-token", OutputToken: deployer + ".token-wstx", ConditionToken: deployer + ".charisma-token",
		AmountIn: "1000000", TargetPrice: "0.30", Direction: "gt",
		UUID: "6f1d2c3a-8b7e-4f10-9a2b-3c4d5e6f7a8b", ValidFrom: 1768471200, ValidTo: 1768557600,
	}
	sig, _ := ordersig.Sign(owner, o, domain) // what the wallet sent with the order

	settlement, _ := stacks.ParsePrincipal(deployer + ".stxgate-settlement")
	args, err := ordersig.ExecuteOrderArgs(o, domain, sig)
	if err != nil {
		panic(err)
	}
	inputCap, err := ordersig.InputCap(o, settlement, "charisma")
	if err != nil {
		panic(err)
	}
	tx, err := stacks.NewContractCall(stacks.Testnet, settlement, stacks.ExecuteOrderFunction, args, stacks.TxOptions{
		Nonce: 7, Fee: 3000, PostConditionMode: stacks.PostConditionDeny, PostConditions: []stacks.PostCondition{inputCap},
	})
	if err != nil {
		panic(err)
	}
	if err := tx.Sign(executor); err != nil {
		panic(err)
	}
	id, _ := tx.TxID()
	fmt.Println(tx.PostConditionMode, inputCap.Principal, inputCap.Condition, inputCap.Amount, inputCap.Asset)
	fmt.Println(tx.OriginAddress(), id)
	// Output:
	// deny ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.stxgate-settlement lte 1000000 ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.charisma-token::charisma
	// STAW66WC3G8WA5F28JVNG1NTRJ6H76E7EMHDBMBN 0x5353eea73af8526cd400259090d1b77d912f729d08b8bc655b9f4e0da08aa281
}
