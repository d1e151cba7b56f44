package stacks

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// PostConditionMode says what happens to asset movements no post-condition
// mentions: in deny mode they abort the transaction (abort_by_post_condition).
type PostConditionMode byte

// Post-condition modes (wire values).
const (
	PostConditionAllow PostConditionMode = 0x01
	PostConditionDeny  PostConditionMode = 0x02
)

var postConditionModeNames = map[PostConditionMode]string{PostConditionAllow: "allow", PostConditionDeny: "deny"}

// unsupportedPostConditionModes are the modes of a later SIP this package refuses.
var unsupportedPostConditionModes = map[PostConditionMode]string{0x03: "SIP-040 originator"}

// String returns "allow", "deny" or "PostConditionMode(n)".
func (m PostConditionMode) String() string {
	return enumName("PostConditionMode", m, postConditionModeNames)
}

// FungibleCondition compares what a principal sends of STX or a fungible
// token with a post-condition's amount.
type FungibleCondition byte

// Fungible condition codes (wire values): "the principal sends = / > / >= / < / <= amount".
const (
	SentEqual              FungibleCondition = 0x01
	SentGreaterThan        FungibleCondition = 0x02
	SentGreaterThanOrEqual FungibleCondition = 0x03
	SentLessThan           FungibleCondition = 0x04
	SentLessThanOrEqual    FungibleCondition = 0x05
)

var fungibleConditionNames = map[FungibleCondition]string{
	SentEqual: "eq", SentGreaterThan: "gt", SentGreaterThanOrEqual: "gte", SentLessThan: "lt", SentLessThanOrEqual: "lte",
}

// String returns "eq", "gt", "gte", "lt", "lte" (stacks.js's names) or "FungibleCondition(n)".
func (c FungibleCondition) String() string {
	return enumName("FungibleCondition", c, fungibleConditionNames)
}

func (c FungibleCondition) valid() bool { return SentEqual <= c && c <= SentLessThanOrEqual }

// NonFungibleCondition says whether a principal sends a given NFT.
type NonFungibleCondition byte

// Non-fungible condition codes (wire values).
const (
	NFTSent    NonFungibleCondition = 0x10
	NFTNotSent NonFungibleCondition = 0x11
)

var nonFungibleConditionNames = map[NonFungibleCondition]string{NFTSent: "sent", NFTNotSent: "not-sent"}

// unsupportedNonFungibleConditions are the codes of a later SIP this package refuses.
var unsupportedNonFungibleConditions = map[NonFungibleCondition]string{0x12: `SIP-040 "may send"`}

// String returns "sent", "not-sent" or "NonFungibleCondition(n)".
func (c NonFungibleCondition) String() string {
	return enumName("NonFungibleCondition", c, nonFungibleConditionNames)
}

// PostConditionPrincipal is whose sending a post-condition constrains: the
// transaction's origin account (Origin, wire 0x01; Principal is then unused
// and must be zero), or a standard (0x02) or contract (0x03) principal.
type PostConditionPrincipal struct {
	Origin    bool
	Principal Principal
}

// OriginPrincipal constrains the transaction's origin, whoever signs it.
func OriginPrincipal() PostConditionPrincipal { return PostConditionPrincipal{Origin: true} }

// PrincipalOf constrains p.
func PrincipalOf(p Principal) PostConditionPrincipal { return PostConditionPrincipal{Principal: p} }

// String returns "origin" or the principal.
func (p PostConditionPrincipal) String() string {
	if p.Origin {
		return "origin"
	}
	return p.Principal.String()
}

// Post-condition principal ids.
const (
	pcPrincipalOrigin   = 0x01
	pcPrincipalStandard = 0x02
	pcPrincipalContract = 0x03
)

func (p PostConditionPrincipal) check() error {
	if p.Origin {
		if p.Principal != (Principal{}) {
			return fmt.Errorf("an origin post-condition principal also names %s", p.Principal)
		}
		return nil
	}
	return checkWirePrincipal(p.Principal)
}

func (p PostConditionPrincipal) append(dst []byte) []byte {
	switch {
	case p.Origin:
		return append(dst, pcPrincipalOrigin)
	case p.Principal.ContractName == "":
		return appendAddress(append(dst, pcPrincipalStandard), p.Principal.Address)
	}
	dst = appendAddress(append(dst, pcPrincipalContract), p.Principal.Address)
	return appendName(dst, p.Principal.ContractName)
}

// AssetInfo names a token: the contract that defines it and the name of its
// define-fungible-token / define-non-fungible-token (which is not always the
// contract's name: SP….charisma-token::charisma).
type AssetInfo struct {
	Contract Principal
	Name     string
}

// ParseAssetInfo parses "<contract principal>::<asset name>".
func ParseAssetInfo(s string) (AssetInfo, error) {
	contract, name, ok := strings.Cut(s, "::")
	if !ok {
		return AssetInfo{}, fmt.Errorf("stacks: asset %s: want <contract>::<asset name>: %w", quote(s), ErrMalformedPrincipal)
	}
	p, err := ParsePrincipal(contract)
	if err != nil {
		return AssetInfo{}, fmt.Errorf("stacks: asset %s: %w", quote(s), err)
	}
	a := AssetInfo{Contract: p, Name: name}
	if err := a.check(); err != nil {
		return AssetInfo{}, fmt.Errorf("stacks: asset %s: %v: %w", quote(s), err, ErrMalformedPrincipal)
	}
	return a, nil
}

// String returns "<contract>::<asset name>".
func (a AssetInfo) String() string { return a.Contract.String() + "::" + a.Name }

func (a AssetInfo) check() error {
	if !a.Contract.IsContract() {
		return fmt.Errorf("asset contract %s is not a contract principal", a.Contract)
	}
	if err := checkWirePrincipal(a.Contract); err != nil {
		return err
	}
	if err := checkClarityName(a.Name); err != nil {
		return fmt.Errorf("asset name %s: %v", quote(a.Name), err)
	}
	return nil
}

func (a AssetInfo) append(dst []byte) []byte {
	dst = appendAddress(dst, a.Contract.Address)
	dst = appendName(dst, a.Contract.ContractName)
	return appendName(dst, a.Name)
}

// PostCondition is one of *STXPostCondition, *FungiblePostCondition and
// *NonFungiblePostCondition.
type PostCondition interface {
	appendPostCondition(dst []byte) []byte
	check() error
}

// Post-condition type ids (stacks-core AssetInfoID).
const (
	pcTypeSTX         = 0x00
	pcTypeFungible    = 0x01
	pcTypeNonFungible = 0x02
)

// STXPostCondition: Principal sends Condition Amount µSTX (fees do not count).
type STXPostCondition struct {
	Principal PostConditionPrincipal
	Condition FungibleCondition
	Amount    uint64
}

func (c *STXPostCondition) check() error {
	if err := c.Principal.check(); err != nil {
		return err
	}
	if !c.Condition.valid() {
		return fmt.Errorf("STX condition code 0x%02x is not 0x01..0x05", byte(c.Condition))
	}
	return nil
}

func (c *STXPostCondition) appendPostCondition(dst []byte) []byte {
	dst = c.Principal.append(append(dst, pcTypeSTX))
	return binary.BigEndian.AppendUint64(append(dst, byte(c.Condition)), c.Amount)
}

// FungiblePostCondition: Principal sends Condition Amount of Asset.
type FungiblePostCondition struct {
	Principal PostConditionPrincipal
	Asset     AssetInfo
	Condition FungibleCondition
	Amount    uint64
}

func (c *FungiblePostCondition) check() error {
	if err := c.Principal.check(); err != nil {
		return err
	}
	if err := c.Asset.check(); err != nil {
		return err
	}
	if !c.Condition.valid() {
		return fmt.Errorf("fungible condition code 0x%02x is not 0x01..0x05", byte(c.Condition))
	}
	return nil
}

func (c *FungiblePostCondition) appendPostCondition(dst []byte) []byte {
	dst = c.Principal.append(append(dst, pcTypeFungible))
	dst = c.Asset.append(dst)
	return binary.BigEndian.AppendUint64(append(dst, byte(c.Condition)), c.Amount)
}

// NonFungiblePostCondition: Principal does or does not send the NFT AssetID of Asset.
type NonFungiblePostCondition struct {
	Principal PostConditionPrincipal
	Asset     AssetInfo
	AssetID   Value
	Condition NonFungibleCondition
}

func (c *NonFungiblePostCondition) check() error {
	if err := c.Principal.check(); err != nil {
		return err
	}
	if err := c.Asset.check(); err != nil {
		return err
	}
	if c.AssetID == nil {
		return fmt.Errorf("non-fungible post-condition without an asset id")
	}
	if err := checkArgValue(c.AssetID, 1); err != nil {
		return err
	}
	if c.Condition != NFTSent && c.Condition != NFTNotSent {
		return fmt.Errorf("non-fungible condition code 0x%02x is not 0x10 or 0x11", byte(c.Condition))
	}
	return nil
}

func (c *NonFungiblePostCondition) appendPostCondition(dst []byte) []byte {
	dst = c.Principal.append(append(dst, pcTypeNonFungible))
	dst = c.Asset.append(dst)
	dst = appendValue(dst, c.AssetID)
	return append(dst, byte(c.Condition))
}

// STXSentAtMost is the post-condition "p sends at most amount µSTX".
func STXSentAtMost(p Principal, amount uint64) *STXPostCondition {
	return &STXPostCondition{Principal: PrincipalOf(p), Condition: SentLessThanOrEqual, Amount: amount}
}

// FungibleSentAtMost is the post-condition "p sends at most amount of
// asset" (sent-less-than-or-equal): in deny mode it caps what p can lose of
// that token while letting the call send less, or nothing.
func FungibleSentAtMost(p Principal, asset AssetInfo, amount uint64) *FungiblePostCondition {
	return &FungiblePostCondition{Principal: PrincipalOf(p), Asset: asset, Condition: SentLessThanOrEqual, Amount: amount}
}

// FungibleSentAtLeast is the post-condition "p sends at least amount of
// asset" (sent-greater-than-or-equal): a floor on a payout, e.g. the least
// output a fill may pay.
func FungibleSentAtLeast(p Principal, asset AssetInfo, amount uint64) *FungiblePostCondition {
	return &FungiblePostCondition{Principal: PrincipalOf(p), Asset: asset, Condition: SentGreaterThanOrEqual, Amount: amount}
}

// postCondition decodes one post-condition.
func (r *reader) postCondition() PostCondition {
	at := r.off
	switch t := r.u8("post-condition type"); {
	case r.err != nil:
		return nil
	case t == pcTypeSTX:
		c := &STXPostCondition{Principal: r.pcPrincipal()}
		c.Condition = readEnum(r, "fungible condition code", fungibleConditionNames, nil)
		c.Amount = r.u64("post-condition amount")
		return c
	case t == pcTypeFungible:
		c := &FungiblePostCondition{Principal: r.pcPrincipal(), Asset: r.assetInfo()}
		c.Condition = readEnum(r, "fungible condition code", fungibleConditionNames, nil)
		c.Amount = r.u64("post-condition amount")
		return c
	case t == pcTypeNonFungible:
		c := &NonFungiblePostCondition{Principal: r.pcPrincipal(), Asset: r.assetInfo(), AssetID: r.value(1)}
		c.Condition = readEnum(r, "non-fungible condition code", nonFungibleConditionNames, unsupportedNonFungibleConditions)
		return c
	default:
		r.failAt(at, "unknown post-condition type 0x%02x", t)
		return nil
	}
}

func (r *reader) pcPrincipal() PostConditionPrincipal {
	at := r.off
	switch id := r.u8("post-condition principal"); {
	case r.err != nil:
	case id == pcPrincipalOrigin:
		return OriginPrincipal()
	case id == pcPrincipalStandard:
		return PrincipalOf(Principal{Address: r.address("post-condition principal")})
	case id == pcPrincipalContract:
		a := r.address("post-condition principal")
		return PrincipalOf(Principal{Address: a, ContractName: r.name("post-condition contract name", checkWireContractName)})
	default:
		r.failAt(at, "unknown post-condition principal id 0x%02x", id)
	}
	return PostConditionPrincipal{}
}

func (r *reader) assetInfo() AssetInfo {
	a := r.address("asset contract")
	name := r.name("asset contract name", checkWireContractName)
	return AssetInfo{Contract: Principal{Address: a, ContractName: name}, Name: r.name("asset name", checkClarityName)}
}

// checkWirePrincipal checks a principal about to be serialised: a c32
// version and, for a contract, a name the wire format accepts.
func checkWirePrincipal(p Principal) error {
	if p.Address.Version >= 32 {
		return fmt.Errorf("principal version %d is not a c32 version (0..31)", p.Address.Version)
	}
	if p.ContractName != "" {
		if err := checkWireContractName(p.ContractName); err != nil {
			return err
		}
	}
	return nil
}

// appendAddress appends a version byte and a hash160.
func appendAddress(dst []byte, a Address) []byte {
	return append(append(dst, a.Version), a.Hash160[:]...)
}

// appendName appends a u8-length-prefixed name (checked beforehand).
func appendName(dst []byte, name string) []byte {
	return append(append(dst, byte(len(name))), name...)
}
