package stacks

// ExecuteOrderFunction is the public function every stxgate settlement
// contract implements (DESIGN.md, "Stacks-native settlement"):
//
//	(define-public (execute-order (order {…the order tuple as signed…}) (signature (buff 65))) (response …))
const ExecuteOrderFunction = "execute-order"

// ExecuteOrderArgs returns execute-order's two arguments: order, the order
// tuple exactly as its owner signed it (pkg/ordersig's Order.Tuple), and the
// owner's SIP-018 signature as a 65-byte buffer in RSV order with recovery id
// 0..3, the form Clarity's secp256k1-recover? takes. ordersig.ExecuteOrderArgs
// derives both from a stored order and verifies the signature first.
func ExecuteOrderArgs(order Value, signatureRSV [65]byte) []Value {
	return []Value{order, bufferValue{b: append([]byte(nil), signatureRSV[:]...)}}
}

// NewExecuteOrder builds the unsigned call of contract's execute-order (the
// settlement contract, on network n) with args: ExecuteOrderArgs, followed
// by whatever else the deployed contract takes (the reference contract in
// contracts/ also takes the order's input and output tokens as trait
// references: ordersig.TokenTraitArgs). The call is sent in post-condition
// mode deny with caps as its post-conditions, so every asset movement they
// do not cover aborts it; caps would normally be
// FungibleSentAtMost(<the owners' side>, <input token>, <amount-in>) and
// FungibleSentAtLeast(<the payer>, <output token>, <minimum out>).
// opts' PostConditionMode and PostConditions are ignored.
func NewExecuteOrder(n Network, contract Principal, args []Value, caps []PostCondition, opts TxOptions) (*Transaction, error) {
	opts.PostConditionMode = PostConditionDeny
	opts.PostConditions = caps
	return NewContractCall(n, contract, ExecuteOrderFunction, args, opts)
}
