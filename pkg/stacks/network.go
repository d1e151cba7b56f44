package stacks

import "fmt"

// Network selects mainnet or testnet. The zero value is invalid on purpose so
// that a forgotten configuration is caught rather than defaulting silently.
type Network uint8

// Networks.
const (
	Mainnet Network = 1
	Testnet Network = 2
)

// c32check address versions.
const (
	VersionMainnetSingleSig = 22 // SP
	VersionMainnetMultiSig  = 20 // SM
	VersionTestnetSingleSig = 26 // ST
	VersionTestnetMultiSig  = 21 // SN
)

// Chain ids used in SIP-018 domains and transactions.
const (
	chainIDMainnet = 1
	chainIDTestnet = 0x80000000
)

// ParseNetwork accepts exactly "mainnet" or "testnet".
func ParseNetwork(s string) (Network, error) {
	switch s {
	case "mainnet":
		return Mainnet, nil
	case "testnet":
		return Testnet, nil
	}
	return 0, fmt.Errorf("stacks: unknown network %s (want \"mainnet\" or \"testnet\")", quote(s))
}

var networkNames = map[Network]string{Mainnet: "mainnet", Testnet: "testnet"}

// String returns "mainnet", "testnet" or "Network(n)" for invalid values.
func (n Network) String() string { return enumName("Network", n, networkNames) }

// enumName is names[v], or "typ(n)" for a value names lacks: the String of
// this package's byte enums.
func enumName[E ~uint8](typ string, v E, names map[E]string) string {
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(v))
}

// valid reports whether n is Mainnet or Testnet.
func (n Network) valid() bool { return n == Mainnet || n == Testnet }

// AddressVersion is the single-sig (P2PKH) version: 22 (SP) or 26 (ST); 0 if invalid.
func (n Network) AddressVersion() byte {
	switch n {
	case Mainnet:
		return VersionMainnetSingleSig
	case Testnet:
		return VersionTestnetSingleSig
	}
	return 0
}

// ChainID is the chain id of SIP-018 domains and transactions: 1 or
// 2147483648 (0x80000000); 0 if invalid.
func (n Network) ChainID() uint64 {
	switch n {
	case Mainnet:
		return chainIDMainnet
	case Testnet:
		return chainIDTestnet
	}
	return 0
}

// networkOfVersion maps an address version to its network.
func networkOfVersion(v byte) (Network, bool) {
	switch v {
	case VersionMainnetSingleSig, VersionMainnetMultiSig:
		return Mainnet, true
	case VersionTestnetSingleSig, VersionTestnetMultiSig:
		return Testnet, true
	}
	return 0, false
}
