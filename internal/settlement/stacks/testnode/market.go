package testnode

import "github.com/stxgate/stxgate/pkg/stacks"

// Market is the reference settlement contract on a node, set up the way the
// end-to-end tests and cmd/stxgate-bench trade on it: a token-a/token-b pool,
// owners' deposits of token-a, authorised and funded executor accounts.
type Market struct {
	Node                       *Node
	Settlement, TokenA, TokenB string // contract identifiers
}

// OpenMarket mints reserveA of token-a and reserveB of token-b to the
// deployer and adds them as the contract's pool for the pair.
func OpenMarket(n *Node, reserveA, reserveB uint64) *Market {
	n.t.Helper()
	m := &Market{Node: n, Settlement: n.Contract("stxgate-settlement"), TokenA: n.Contract("token-a"), TokenB: n.Contract("token-b")}
	d := n.Deployer
	n.MustCall(m.TokenA, "mint", d, stacks.UInt(reserveA), m.principal(d))
	n.MustCall(m.TokenB, "mint", d, stacks.UInt(reserveB), m.principal(d))
	n.MustCall(m.Settlement, "add-liquidity", d, m.principal(m.TokenA), m.principal(m.TokenB), stacks.UInt(reserveA), stacks.UInt(reserveB))
	return m
}

// Deposit mints amount of token-a to owner and deposits it into the
// contract as owner: what the owner's signed orders spend from.
func (m *Market) Deposit(owner string, amount uint64) {
	m.Node.t.Helper()
	m.Node.MustCall(m.TokenA, "mint", m.Node.Deployer, stacks.UInt(amount), m.principal(owner))
	m.Node.MustCall(m.Settlement, "deposit", owner, m.principal(m.TokenA), stacks.UInt(amount))
}

// Authorise puts executor on the contract's executor list (set-executor, as
// the deployer) and gives it microSTX for fees.
func (m *Market) Authorise(executor string, microSTX uint64) {
	m.Node.t.Helper()
	m.Node.MustCall(m.Settlement, "set-executor", m.Node.Deployer, m.principal(executor), stacks.Bool(true))
	m.Node.Fund(executor, microSTX)
}

// GatewayEnv is the environment that makes a gateway settle on this market
// (testnet, stacks settlement, this node and contract) with the executor
// key in keyFile. The database, Redis and limits are the caller's.
func (m *Market) GatewayEnv(keyFile string) map[string]string {
	return map[string]string{
		"STXGATE_NETWORK": "testnet", "STXGATE_SETTLEMENT": "stacks", "STXGATE_EXECUTOR_KEY_FILE": keyFile,
		"STXGATE_STACKS_NODE_URL": m.Node.URL, "STXGATE_SETTLEMENT_CONTRACT": m.Settlement,
	}
}

func (m *Market) principal(s string) stacks.Value {
	m.Node.t.Helper()
	p, err := stacks.ParsePrincipal(s)
	if err != nil {
		m.Node.t.Fatalf("testnode: principal %q: %v", s, err)
	}
	return stacks.PrincipalValue(p)
}
