// Package ordersig builds, signs and verifies stxgate orders as SIP-018
// structured data, exactly as a wallet's stx_signStructuredMessage does, and
// turns a signed order into what the settlement contract's execute-order
// call carries (ExecuteOrderArgs, TokenTraitArgs, InputCap; the transaction
// itself is pkg/stacks' NewExecuteOrder).
//
// It only turns an Order into the Clarity tuple DESIGN.md defines; deciding
// whether the order makes business sense (direction values, uuid format,
// validity window) is the order service's job.
package ordersig

import (
	"fmt"
	"strings"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Order is the signed part of an order, as strings the way clients send them.
type Order struct {
	Owner, InputToken, OutputToken, AmountIn, TargetPrice, Direction, ConditionToken, Recipient, UUID string
	ValidFrom, ValidTo                                                                                int64 // unix seconds
}

// Tuple returns the order tuple:
//
//	{owner: principal, input-token: principal, output-token: principal,
//	 amount-in: uint, target-price: string-ascii, direction: string-ascii,
//	 condition-token: principal, recipient: principal, uuid: string-ascii,
//	 valid-from: uint, valid-to: uint}
func (o Order) Tuple() (stacks.Value, error) {
	var errs []error
	principal := func(field, s string) stacks.Value {
		p, err := stacks.ParsePrincipal(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
			return nil
		}
		return stacks.PrincipalValue(p)
	}
	ascii := func(field, s string) stacks.Value {
		v, err := stacks.StringASCII(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return v
	}
	seconds := func(field string, t int64) stacks.Value {
		if t < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is before 1970: %w", field, t, stacks.ErrClarityValue))
			return nil
		}
		return stacks.UInt(uint64(t))
	}
	amount, err := stacks.UIntFromString(o.AmountIn)
	if err != nil {
		errs = append(errs, fmt.Errorf("amount-in: %w", err))
	}
	fields := map[string]stacks.Value{
		"owner":           principal("owner", o.Owner),
		"input-token":     principal("input-token", o.InputToken),
		"output-token":    principal("output-token", o.OutputToken),
		"amount-in":       amount,
		"target-price":    ascii("target-price", o.TargetPrice),
		"direction":       ascii("direction", o.Direction),
		"condition-token": principal("condition-token", o.ConditionToken),
		"recipient":       principal("recipient", o.Recipient),
		"uuid":            ascii("uuid", o.UUID),
		"valid-from":      seconds("valid-from", o.ValidFrom),
		"valid-to":        seconds("valid-to", o.ValidTo),
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ordersig: %w", fieldErrors(errs))
	}
	return stacks.Tuple(fields)
}

// fieldErrors reports every bad field at once, on one line, and still lets
// errors.Is find each field's sentinel.
type fieldErrors []error

func (e fieldErrors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e fieldErrors) Unwrap() []error { return e }

// Hash is the SIP-018 hash of the order under domain d.
func Hash(o Order, d stacks.Domain) ([32]byte, error) {
	domain, message, err := values(o, d)
	if err != nil {
		return [32]byte{}, err
	}
	return stacks.StructuredDataHash(domain, message), nil
}

// Sign signs the order as its owner's wallet would; RSV hex. A nil or zero
// key is stacks.ErrNoPrivateKey.
func Sign(k *stacks.PrivateKey, o Order, d stacks.Domain) (string, error) {
	domain, message, err := values(o, d)
	if err != nil {
		return "", err
	}
	return stacks.SignStructuredData(k, domain, message)
}

// Verify checks that sigHex is o.Owner's SIP-018 signature of o under d. The
// owner must be a standard principal (an account address): contracts cannot
// sign. Errors wrap the stacks sentinels (ErrMalformedSignature, ErrHighS,
// ErrInvalidSignature, ErrMalformedAddress, ...). Whether the owner's network
// is the gateway's is not checked here: use stacks.CheckAddressNetwork.
func Verify(o Order, d stacks.Domain, sigHex string) error {
	owner, err := stacks.ParseAddress(o.Owner)
	if err != nil {
		return fmt.Errorf("ordersig: owner must be a standard principal: %w", err)
	}
	domain, message, err := values(o, d)
	if err != nil {
		return err
	}
	if _, err := stacks.VerifyStructuredData(domain, message, sigHex, owner); err != nil {
		return fmt.Errorf("ordersig: %w", err)
	}
	return nil
}

// values builds the domain and order tuples.
func values(o Order, d stacks.Domain) (domain, message stacks.Value, err error) {
	domain, err = d.Value()
	if err != nil {
		return nil, nil, fmt.Errorf("ordersig: %w", err)
	}
	message, err = o.Tuple()
	if err != nil {
		return nil, nil, err
	}
	return domain, message, nil
}
