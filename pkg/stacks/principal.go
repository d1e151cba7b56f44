package stacks

import (
	"fmt"
	"strings"
)

// maxContractNameLen is stacks-core's CONTRACT_MAX_NAME_LENGTH: no longer
// name can be deployed (the regex alone would allow 128 for old nodes' sake).
const maxContractNameLen = 40

// Principal is a standard principal (ContractName "") or a contract principal.
type Principal struct {
	Address      Address
	ContractName string
}

// ParsePrincipal parses "SP…" or "SP….contract-name". The address part is as
// strict as ParseAddress; the name follows stacks-core's ContractName rule
// ^[a-zA-Z]([a-zA-Z0-9]|[-_])*$ with 1..40 characters.
func ParsePrincipal(s string) (Principal, error) {
	addrPart, name, isContract := strings.Cut(s, ".")
	a, err := ParseAddress(addrPart)
	if err != nil {
		return Principal{}, fmt.Errorf("stacks: principal %s: %w: %w", quote(s), ErrMalformedPrincipal, err)
	}
	if !isContract {
		return Principal{Address: a}, nil
	}
	if err := checkContractName(name); err != nil {
		return Principal{}, fmt.Errorf("stacks: principal %s: %v: %w", quote(s), err, ErrMalformedPrincipal)
	}
	return Principal{Address: a, ContractName: name}, nil
}

// checkContractName applies stacks-core's contract name rule for deployable names.
func checkContractName(name string) error { return checkContractNameMax(name, maxContractNameLen) }

// checkContractNameMax applies the contract name rule with at most max characters.
func checkContractNameMax(name string, max int) error {
	if name == "" {
		return fmt.Errorf("empty contract name")
	}
	if len(name) > max {
		return fmt.Errorf("contract name is %d characters, at most %d allowed", len(name), max)
	}
	if !isASCIILetter(name[0]) {
		return fmt.Errorf("contract name must start with a letter")
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isASCIILetter(c) && !isASCIIDigit(c) && c != '-' && c != '_' {
			return fmt.Errorf("contract name has invalid character %q at %d (allowed: letters, digits, '-', '_')", c, i)
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }

// String returns "SP…" or "SP….name".
func (p Principal) String() string {
	if p.ContractName == "" {
		return p.Address.String()
	}
	return p.Address.String() + "." + p.ContractName
}

// IsContract reports whether p names a contract.
func (p Principal) IsContract() bool { return p.ContractName != "" }
