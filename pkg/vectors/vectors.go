// Package vectors loads the stacks.js test vectors (shared/vectors/stacks-vectors.json,
// committed here as a copy) — signatures, addresses and Clarity values made by
// the real Stacks JavaScript libraries — for the tests of every package that
// must agree with them. VECTORS-README.md describes them.
//
// It is a package of the SDK module so that the SDK's tests and the gateway's
// share one copy; it imports only "testing" and the standard library, and is
// meant for tests only.
package vectors

import (
	_ "embed"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Key is an entry of keys.
type Key struct {
	ID                    string `json:"id"`
	Source                string `json:"source"`
	PrivateKeyHex         string `json:"private_key_hex"`
	PrivateKeyScalarHex   string `json:"private_key_scalar_hex"`
	PublicKeyHex          string `json:"public_key_hex"`
	PublicKeyUncompressed string `json:"public_key_uncompressed_hex"`
	Hash160Hex            string `json:"hash160_hex"`
	AddressMainnet        string `json:"address_mainnet"`
	AddressTestnet        string `json:"address_testnet"`
	AddressMainnetMulti   string `json:"address_mainnet_multisig_v20"`
	AddressTestnetMulti   string `json:"address_testnet_multisig_v21"`
	C32Check              struct {
		Mainnet string `json:"mainnet_checksum_hex"`
		Testnet string `json:"testnet_checksum_hex"`
	} `json:"c32check"`
}

// MessagePositive is an entry of message_signing.positive.
type MessagePositive struct {
	ID             string `json:"id"`
	KeyID          string `json:"key_id"`
	Prefix         string `json:"prefix"`
	PrefixHex      string `json:"prefix_hex"`
	Message        string `json:"message"`
	ByteLength     int    `json:"message_byte_length"`
	MessageUTF8Hex string `json:"message_utf8_hex"`
	VarintHex      string `json:"varint_hex"`
	EncodedHex     string `json:"encoded_hex"`
	EncodedHeadHex string `json:"encoded_head_hex"`
	HashHex        string `json:"hash_hex"`
	PublicKeyHex   string `json:"public_key_hex"`
	AddressMainnet string `json:"address_mainnet"`
	AddressTestnet string `json:"address_testnet"`
	RSV            string `json:"signature_rsv_hex"`
	VRS            string `json:"signature_vrs_hex"`
	RHex           string `json:"r_hex"`
	SHex           string `json:"s_hex"`
	RecoveryID     byte   `json:"recovery_id"`
	SIsLow         bool   `json:"s_is_low"`
	LibraryChecks  struct {
		Recovered string `json:"publicKeyFromSignatureRsv"`
	} `json:"library_checks"`
}

// KnownAnswer is an entry of message_signing.upstream_known_answers.
type KnownAnswer struct {
	ID             string `json:"id"`
	Message        string `json:"message"`
	Prefix         string `json:"prefix"`
	HashHex        string `json:"hash_hex"`
	PublicKeyHex   string `json:"public_key_hex"`
	AddressTestnet string `json:"address_testnet"`
	AddressMainnet string `json:"address_mainnet"`
	RSV            string `json:"signature_rsv_hex"`
	Recovered      string `json:"recovered_public_key_hex"`
}

// MessageNegative is an entry of message_signing.negative.
type MessageNegative struct {
	ID             string `json:"id"`
	Reason         string `json:"reason"`
	Message        string `json:"message"`
	PublicKeyHex   string `json:"public_key_hex"`
	RSV            string `json:"signature_rsv_hex"`
	ClaimedAddress string `json:"claimed_address"`
	ExpectedValid  bool   `json:"expected_valid"`
	SignedMessage  string `json:"signed_message"`
}

// MessagePolicy is an entry of message_signing.policy.
type MessagePolicy struct {
	ID                       string `json:"id"`
	Message                  string `json:"message"`
	PublicKeyHex             string `json:"public_key_hex"`
	RSV                      string `json:"signature_rsv_hex"`
	LibraryRecovered         string `json:"library_publicKeyFromSignatureRsv"`
	Recommended              string `json:"recommended_server_result"`
	PrivateKeyHex            string `json:"private_key_hex"`
	PublicKeyUncompressedHex string `json:"public_key_uncompressed_hex"`
	PublicKeyCompressedHex   string `json:"public_key_compressed_hex"`
	MainnetFromUncompressed  string `json:"address_mainnet_from_uncompressed"`
	MainnetFromCompressed    string `json:"address_mainnet_from_compressed"`
	TestnetFromUncompressed  string `json:"address_testnet_from_uncompressed"`
	TestnetFromCompressed    string `json:"address_testnet_from_compressed"`
	HashHex                  string `json:"hash_hex"`
	RecoveredPublicKeyHex    string `json:"recovered_public_key_hex"`
}

// AddressCheck is an entry of addresses.checks.
type AddressCheck struct {
	ID              string `json:"id"`
	PublicKeyHex    string `json:"public_key_hex"`
	ClaimedAddress  string `json:"claimed_address"`
	ExpectedNetwork string `json:"expected_network"`
	DerivedAddress  string `json:"derived_address"`
	ExpectedMatch   bool   `json:"expected_match"`
	LibraryDecode   struct {
		Version    *byte  `json:"version"`
		Hash160Hex string `json:"hash160_hex"`
		Error      string `json:"error"`
	} `json:"library_c32addressDecode"`
}

// C32 is an entry of addresses.c32.
type C32 struct {
	Version     byte   `json:"version"`
	Hash160Hex  string `json:"hash160_hex"`
	Address     string `json:"address"`
	ChecksumHex string `json:"checksum_hex"`
}

// ClarityValue is an entry of clarity_serialization.values.
type ClarityValue struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	Value         string `json:"value"`
	SerializedHex string `json:"serialized_hex"`
	SHA256Hex     string `json:"sha256_hex"`
}

// Field is one named, typed value of an order tuple.
type Field struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// SIP018Positive is an entry of sip018.positive.
type SIP018Positive struct {
	ID                  string  `json:"id"`
	KeyID               string  `json:"key_id"`
	Network             string  `json:"network"`
	PublicKeyHex        string  `json:"public_key_hex"`
	SignerAddress       string  `json:"signer_address"`
	DomainSerializedHex string  `json:"domain_serialized_hex"`
	DomainHashHex       string  `json:"domain_hash_hex"`
	Fields              []Field `json:"message_fields"`
	FieldsInOrder       []struct {
		Name          string `json:"name"`
		NameLPHex     string `json:"name_lp_hex"`
		Type          string `json:"type"`
		Value         string `json:"value"`
		SerializedHex string `json:"value_serialized_hex"`
	} `json:"message_fields_serialization_order"`
	MessageSerializedHex string `json:"message_serialized_hex"`
	MessageHashHex       string `json:"message_hash_hex"`
	EncodedHex           string `json:"encoded_hex"`
	FinalHashHex         string `json:"final_hash_hex"`
	RSV                  string `json:"signature_rsv_hex"`
	VRS                  string `json:"signature_vrs_hex"`
	RecoveryID           byte   `json:"recovery_id"`
	SIsLow               bool   `json:"s_is_low"`
	LibraryChecks        struct {
		Recovered string `json:"publicKeyFromSignatureRsv"`
	} `json:"library_checks"`
}

// SIP018Negative is an entry of sip018.negative.
type SIP018Negative struct {
	ID                   string  `json:"id"`
	Reason               string  `json:"reason"`
	PublicKeyHex         string  `json:"public_key_hex"`
	DomainSerializedHex  string  `json:"domain_serialized_hex"`
	Fields               []Field `json:"message_fields"`
	MessageSerializedHex string  `json:"message_serialized_hex"`
	FinalHashHex         string  `json:"final_hash_hex"`
	RSV                  string  `json:"signature_rsv_hex"`
	ExpectedValid        bool    `json:"expected_valid"`
}

// SIP018Policy is an entry of sip018.policy.
type SIP018Policy struct {
	ID           string `json:"id"`
	Recommended  string `json:"recommended_server_result"`
	FinalHashHex string `json:"final_hash_hex"`
	PublicKeyHex string `json:"public_key_hex"`
	RSV          string `json:"signature_rsv_hex"`
}

// File is the whole vectors file (only the fields tests use).
type File struct {
	Meta struct {
		Counts map[string]int `json:"counts"`
	} `json:"meta"`
	Keys           []Key `json:"keys"`
	MessageSigning struct {
		Varints []struct {
			Length    uint64 `json:"length"`
			VarintHex string `json:"varint_hex"`
		} `json:"varints"`
		Positive             []MessagePositive `json:"positive"`
		UpstreamKnownAnswers []KnownAnswer     `json:"upstream_known_answers"`
		Negative             []MessageNegative `json:"negative"`
		Policy               []MessagePolicy   `json:"policy"`
	} `json:"message_signing"`
	Addresses struct {
		Checks []AddressCheck `json:"checks"`
		C32    []C32          `json:"c32"`
	} `json:"addresses"`
	Clarity struct {
		Values        []ClarityValue `json:"values"`
		TupleKeyOrder struct {
			DemoKeys        []string `json:"demo_keys"`
			LocaleOrder     []string `json:"stacksjs_locale_order"`
			ByteOrder       []string `json:"byte_order"`
			StacksJSHex     string   `json:"stacksjs_serialized_hex"`
			GatewayKeysOkay bool     `json:"gateway_keys_agree"`
		} `json:"tuple_key_order"`
	} `json:"clarity_serialization"`
	SIP018 struct {
		PrefixHex   string `json:"prefix_hex"`
		SpecVectors struct {
			StructuredDataHash []struct {
				ClarityRepr   string `json:"clarity_repr"`
				SerializedHex string `json:"serialized_hex"`
				HashHex       string `json:"hash_hex"`
				SpecHashHex   string `json:"spec_hash_hex"`
			} `json:"structured_data_hash"`
			MessageHash struct {
				EncodedHex  string `json:"encoded_hex"`
				HashHex     string `json:"hash_hex"`
				SpecHashHex string `json:"spec_hash_hex"`
			} `json:"message_hash"`
			Signature struct {
				PrivateKeyHex  string `json:"private_key_hex"`
				PublicKeyHex   string `json:"public_key_hex"`
				AddressTestnet string `json:"address_testnet"`
				RSV            string `json:"signature_rsv_hex"`
				SpecRSV        string `json:"spec_signature_rsv_hex"`
			} `json:"signature"`
		} `json:"spec_vectors"`
		Domains map[string]struct {
			Name          string `json:"name"`
			Version       string `json:"version"`
			ChainID       string `json:"chain_id"`
			SerializedHex string `json:"serialized_hex"`
			HashHex       string `json:"hash_hex"`
		} `json:"domains"`
		Positive []SIP018Positive `json:"positive"`
		Negative []SIP018Negative `json:"negative"`
		Policy   []SIP018Policy   `json:"policy"`
	} `json:"sip018"`
}

// Rel is where the workspace keeps the vectors, beside this repository.
const Rel = "shared/vectors/stacks-vectors.json"

// embedded is this repository's copy of the vectors, so that a clone alone
// (CI) checks every one of them; TestCopyMatchesShared keeps it identical to
// the workspace's shared/vectors.
//
//go:embed stacks-vectors.json
var embedded []byte

// Embedded returns the committed copy's bytes.
func Embedded() []byte { return embedded }

var once struct {
	sync.Once
	file *File
	err  error
}

// Load parses the vectors once per test binary.
func Load(t testing.TB) *File {
	t.Helper()
	once.Do(func() {
		var f File
		if once.err = json.Unmarshal(embedded, &f); once.err == nil {
			once.file = &f
		}
	})
	if once.err != nil {
		t.Fatalf("parse the stacks.js vectors: %v", once.err)
	}
	return once.file
}

// SharedPath finds shared/vectors/stacks-vectors.json by walking up from the
// working directory ("" when this checkout has no workspace around it).
func SharedPath() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, filepath.FromSlash(Rel))
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
