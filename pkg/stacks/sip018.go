package stacks

import (
	"crypto/sha256"
	"fmt"
)

// sip018Prefix is the hashing prefix; SIP018Prefix is an informational copy.
const sip018Prefix = "SIP018"

// SIP018Prefix is the SIP-018 prefix bytes "SIP018". Hashing uses an internal
// constant, so changing this slice cannot change any hash.
var SIP018Prefix = []byte("SIP018")

// Domain is a SIP-018 domain: it binds a signature to one application and chain.
type Domain struct {
	Name, Version string
	ChainID       uint64
}

// NewDomain returns the domain for name and version on network n.
func NewDomain(name, version string, n Network) Domain {
	return Domain{Name: name, Version: version, ChainID: n.ChainID()}
}

// Value returns the domain tuple {name: string-ascii, version: string-ascii, chain-id: uint}.
func (d Domain) Value() (Value, error) {
	name, err := StringASCII(d.Name)
	if err != nil {
		return nil, fmt.Errorf("stacks: domain name: %w", err)
	}
	version, err := StringASCII(d.Version)
	if err != nil {
		return nil, fmt.Errorf("stacks: domain version: %w", err)
	}
	return tupleValue{ // already in byte order
		{name: "chain-id", v: UInt(d.ChainID)},
		{name: "name", v: name},
		{name: "version", v: version},
	}, nil
}

// StructuredDataHash is the SIP-018 hash:
// sha256("SIP018" || sha256(serialize(domain)) || sha256(serialize(message))).
func StructuredDataHash(domain, message Value) [32]byte {
	ser := appendValue(make([]byte, 0, 512), domain) // one buffer for both
	dh := sha256.Sum256(ser)
	mh := sha256.Sum256(appendValue(ser[:0], message))
	var b [len(sip018Prefix) + 64]byte
	copy(b[:], sip018Prefix)
	copy(b[len(sip018Prefix):], dh[:])
	copy(b[len(sip018Prefix)+32:], mh[:])
	return sha256.Sum256(b[:])
}

// SignStructuredData signs domain and message as stx_signStructuredMessage does; RSV hex.
func SignStructuredData(k *PrivateKey, domain, message Value) (string, error) {
	sig, err := SignHash(k, StructuredDataHash(domain, message))
	if err != nil {
		return "", err
	}
	return sig.String(), nil
}

// VerifyStructuredData checks a SIP-018 signature by addr and returns the
// signer's compressed public key (policy and errors as VerifyHash).
func VerifyStructuredData(domain, message Value, sigHex string, addr Address) ([]byte, error) {
	return VerifyHash(StructuredDataHash(domain, message), sigHex, addr)
}
