package ordersig_test

import (
	"fmt"

	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// An executor turns a stored, wallet-signed order into the execute-order
// transaction of the reference settlement contract (contracts/): the
// arguments are the order and its signature, then the order's tokens as
// trait references; in deny mode, one post-condition caps what the owners'
// side (the contract, which holds their deposits) sends of the input token,
// another requires a payout of the output token.
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
	args, err := ordersig.ExecuteOrderArgs(o, domain, sig) // verifies sig, normalises it to RSV
	if err != nil {
		panic(err)
	}
	traits, err := ordersig.TokenTraitArgs(o)
	if err != nil {
		panic(err)
	}
	inputCap, err := ordersig.InputCap(o, settlement, "charisma") // charisma-token's define-fungible-token
	if err != nil {
		panic(err)
	}
	wstx, _ := stacks.ParseAssetInfo(o.OutputToken + "::wstx")
	payout := stacks.FungibleSentAtLeast(settlement, wstx, 1)
	tx, err := stacks.NewExecuteOrder(stacks.Testnet, settlement, append(args, traits...),
		[]stacks.PostCondition{inputCap, payout}, stacks.TxOptions{Nonce: 7, Fee: 3000})
	if err != nil {
		panic(err)
	}
	if err := tx.Sign(executor); err != nil {
		panic(err)
	}
	id, _ := tx.TxID()
	fmt.Println(tx.PostConditionMode, inputCap.Principal, inputCap.Condition, inputCap.Amount, inputCap.Asset)
	fmt.Println(stacks.Repr(traits[0]), stacks.Repr(traits[1]))
	fmt.Println(tx.OriginAddress(), id)
	// Output:
	// deny ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.stxgate-settlement lte 1000000 ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.charisma-token::charisma
	// ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.charisma-token ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.token-wstx
	// STAW66WC3G8WA5F28JVNG1NTRJ6H76E7EMHDBMBN 0xe57b73f0d53b314087f0b2453eaa912c5a523bbb1ce74f27659f137b8f9d6ae7
}
