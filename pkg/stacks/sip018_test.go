package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
)

// typedValue builds a Clarity value from a vector field of any type.
func typedValue(t testing.TB, f vecField) Value {
	t.Helper()
	var (
		v   Value
		err error
	)
	switch f.Type {
	case "principal":
		var p Principal
		p, err = ParsePrincipal(f.Value)
		v = PrincipalValue(p)
	case "uint":
		v, err = UIntFromString(f.Value)
	case "int":
		v, err = IntFromString(f.Value)
	case "string-ascii":
		v, err = StringASCII(f.Value)
	case "string-utf8":
		v, err = StringUTF8(f.Value)
	default:
		t.Fatalf("field %s: unknown type %q", f.Name, f.Type)
	}
	if err != nil {
		t.Fatalf("field %s: %v", f.Name, err)
	}
	return v
}

func typedTuple(t testing.TB, fields []vecField) Value {
	t.Helper()
	m := make(map[string]Value, len(fields))
	for _, f := range fields {
		m[f.Name] = typedValue(t, f)
	}
	v, err := Tuple(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// domainFromHex finds the domain whose serialisation the vector shows.
func domainFromHex(t testing.TB, serialized string) Value {
	t.Helper()
	for _, version := range []string{"1", "2"} {
		for _, n := range []Network{Mainnet, Testnet} {
			d, err := NewDomain("stxgate", version, n).Value()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(Serialize(d)) == serialized {
				return d
			}
		}
	}
	t.Fatalf("no known domain serialises to %s", serialized)
	return nil
}

func TestSIP018SpecVectors(t *testing.T) {
	v := loadVectors(t)
	sv := v.SIP018.SpecVectors
	if hex.EncodeToString(SIP018Prefix) != v.SIP018.PrefixHex {
		t.Errorf("prefix %x, want %s", SIP018Prefix, v.SIP018.PrefixHex)
	}
	testApp, err := Domain{Name: "Test App", Version: "1.0.0", ChainID: 1}.Value()
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := StringASCII("Hello World")
	empty, _ := StringASCII("")
	byRepr := map[string]Value{
		`"Hello World"`: hello,
		`""`:            empty,
		`{ chain-id: u1, name: "Test App", version: "1.0.0" }`: testApp,
	}
	wantCount(t, v, "sip018.spec_vectors.structured_data_hash", "", len(sv.StructuredDataHash), 3)
	for _, tc := range sv.StructuredDataHash {
		val, ok := byRepr[tc.ClarityRepr]
		if !ok {
			t.Fatalf("no value for %s", tc.ClarityRepr)
		}
		ser := Serialize(val)
		h := sha256.Sum256(ser)
		if hex.EncodeToString(ser) != tc.SerializedHex || hex.EncodeToString(h[:]) != tc.HashHex || tc.HashHex != tc.SpecHashHex {
			t.Errorf("%s: %x / %x", tc.ClarityRepr, ser, h)
		}
	}
	hash := StructuredDataHash(testApp, hello)
	if hex.EncodeToString(hash[:]) != sv.MessageHash.HashHex || sv.MessageHash.HashHex != sv.MessageHash.SpecHashHex {
		t.Errorf("StructuredDataHash = %x, want %s", hash, sv.MessageHash.HashHex)
	}
	dh, mh := sha256.Sum256(Serialize(testApp)), sha256.Sum256(Serialize(hello))
	enc := append(append(append([]byte{}, SIP018Prefix...), dh[:]...), mh[:]...)
	if hex.EncodeToString(enc) != sv.MessageHash.EncodedHex || sha256.Sum256(enc) != hash {
		t.Errorf("encoding differs")
	}
	k := mustKey(t, sv.Signature.PrivateKeyHex)
	if hex.EncodeToString(k.PublicKey()) != sv.Signature.PublicKeyHex {
		t.Errorf("public key")
	}
	if got := must(SignStructuredData(k, testApp, hello)); got != sv.Signature.RSV || got != sv.Signature.SpecRSV {
		t.Errorf("SignStructuredData = %s, want %s", got, sv.Signature.RSV)
	}
	pub, err := VerifyStructuredData(testApp, hello, sv.Signature.RSV, mustAddress(t, sv.Signature.AddressTestnet))
	if err != nil || hex.EncodeToString(pub) != sv.Signature.PublicKeyHex {
		t.Errorf("VerifyStructuredData = %x, %v", pub, err)
	}
}

func TestSIP018DomainVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.SIP018.Domains) != 2 {
		t.Fatalf("%d domains", len(v.SIP018.Domains))
	}
	for name, tc := range v.SIP018.Domains {
		n, err := ParseNetwork(name)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDomain(tc.Name, tc.Version, n)
		if strconv.FormatUint(d.ChainID, 10) != tc.ChainID {
			t.Errorf("%s: chain id %d, want %s", name, d.ChainID, tc.ChainID)
		}
		val, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		ser := Serialize(val)
		h := sha256.Sum256(ser)
		if hex.EncodeToString(ser) != tc.SerializedHex || hex.EncodeToString(h[:]) != tc.HashHex {
			t.Errorf("%s: %x / %x", name, ser, h)
		}
		// Same bytes through the generic Tuple constructor.
		name, _ := StringASCII(tc.Name)
		version, _ := StringASCII(tc.Version)
		generic, _ := Tuple(map[string]Value{"name": name, "version": version, "chain-id": UInt(d.ChainID)})
		if hex.EncodeToString(Serialize(generic)) != tc.SerializedHex {
			t.Errorf("generic tuple differs")
		}
	}
	if _, err := (Domain{Name: "bad\x00", Version: "1"}).Value(); !errors.Is(err, ErrClarityValue) {
		t.Errorf("domain with NUL: %v", err)
	}
	if _, err := (Domain{Name: "ok", Version: "é"}).Value(); !errors.Is(err, ErrClarityValue) {
		t.Errorf("domain with é: %v", err)
	}
}

func TestSIP018PositiveVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "sip018.positive", "sip018_positive", len(v.SIP018.Positive), 42)
	keys := keysByID(v)
	for _, tc := range v.SIP018.Positive {
		t.Run(tc.ID, func(t *testing.T) {
			n, err := ParseNetwork(tc.Network)
			if err != nil {
				t.Fatal(err)
			}
			domain, err := NewDomain("stxgate", "1", n).Value()
			if err != nil {
				t.Fatal(err)
			}
			dser := Serialize(domain)
			if dh := sha256.Sum256(dser); hex.EncodeToString(dser) != tc.DomainSerializedHex || hex.EncodeToString(dh[:]) != tc.DomainHashHex {
				t.Errorf("domain %x", dser)
			}
			for _, f := range tc.FieldsInOrder {
				name := append([]byte{byte(len(f.Name))}, f.Name...)
				if hex.EncodeToString(name) != f.NameLPHex {
					t.Errorf("%s: name %x", f.Name, name)
				}
				ser := Serialize(typedValue(t, vecField{Name: f.Name, Type: f.Type, Value: f.Value}))
				if hex.EncodeToString(ser) != f.SerializedHex {
					t.Errorf("%s: %x, want %s", f.Name, ser, f.SerializedHex)
				}
			}
			msg := typedTuple(t, tc.Fields)
			mser := Serialize(msg)
			if hex.EncodeToString(mser) != tc.MessageSerializedHex {
				t.Fatalf("message = %x\nwant      %s", mser, tc.MessageSerializedHex)
			}
			if mh := sha256.Sum256(mser); hex.EncodeToString(mh[:]) != tc.MessageHashHex {
				t.Errorf("message hash %x", mh)
			}
			hash := StructuredDataHash(domain, msg)
			if hex.EncodeToString(hash[:]) != tc.FinalHashHex {
				t.Fatalf("final hash %x, want %s", hash, tc.FinalHashHex)
			}
			if enc := hex.EncodeToString(SIP018Prefix) + tc.DomainHashHex + tc.MessageHashHex; enc != tc.EncodedHex {
				t.Errorf("encoded %s", enc)
			}
			signer := mustAddress(t, tc.SignerAddress)
			for form, sig := range map[string]string{"RSV": tc.RSV, "VRS": tc.VRS} {
				pub, err := VerifyStructuredData(domain, msg, sig, signer)
				if err != nil || hex.EncodeToString(pub) != tc.PublicKeyHex {
					t.Errorf("VerifyStructuredData(%s) = %x, %v", form, pub, err)
				}
			}
			sigs, _ := DecodeSignature(tc.RSV)
			if pub, err := RecoverPublicKey(hash, sigs[0]); err != nil || hex.EncodeToString(pub) != tc.LibraryChecks.Recovered {
				t.Errorf("RecoverPublicKey = %x, %v", pub, err)
			}
			if sigs[0].RecoveryID != tc.RecoveryID || !tc.SIsLow {
				t.Errorf("recovery id %d, want %d", sigs[0].RecoveryID, tc.RecoveryID)
			}
			key, ok := keys[tc.KeyID]
			if !ok {
				t.Fatalf("unknown key %s", tc.KeyID)
			}
			if got := must(SignStructuredData(mustKey(t, key.PrivateKeyHex), domain, msg)); got != tc.RSV {
				t.Errorf("SignStructuredData = %s, want %s", got, tc.RSV)
			}
		})
	}
}

func TestSIP018NegativeVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "sip018.negative", "sip018_negative", len(v.SIP018.Negative), 10)
	for _, tc := range v.SIP018.Negative {
		t.Run(tc.ID, func(t *testing.T) {
			if tc.ExpectedValid {
				t.Fatal("vector marked valid")
			}
			domain := domainFromHex(t, tc.DomainSerializedHex)
			msg := typedTuple(t, tc.Fields)
			if got := hex.EncodeToString(Serialize(msg)); got != tc.MessageSerializedHex {
				t.Fatalf("message = %s\nwant      %s", got, tc.MessageSerializedHex)
			}
			hash := StructuredDataHash(domain, msg)
			if hex.EncodeToString(hash[:]) != tc.FinalHashHex {
				t.Fatalf("final hash %x, want %s", hash, tc.FinalHashHex)
			}
			var owner string
			for _, f := range tc.Fields {
				if f.Name == "owner" {
					owner = f.Value
				}
			}
			for _, addr := range []Address{mustAddress(t, owner), addrOf(t, tc.PublicKeyHex, Mainnet), addrOf(t, tc.PublicKeyHex, Testnet)} {
				if _, err := VerifyStructuredData(domain, msg, tc.RSV, addr); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("VerifyStructuredData(%s) = %v, want ErrInvalidSignature", addr, err)
				}
			}
		})
	}
}

func TestSIP018PolicyVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "sip018.policy", "sip018_policy", len(v.SIP018.Policy), 1)
	for _, tc := range v.SIP018.Policy {
		if tc.ID != "high-s" || tc.Recommended != "reject" {
			t.Fatalf("no stxgate decision for %s (%s)", tc.ID, tc.Recommended)
		}
		hash := mustHash(t, tc.FinalHashHex)
		for _, n := range []Network{Mainnet, Testnet} {
			if _, err := VerifyHash(hash, tc.RSV, addrOf(t, tc.PublicKeyHex, n)); !errors.Is(err, ErrHighS) {
				t.Errorf("VerifyHash(%s) = %v, want ErrHighS", n, err)
			}
		}
	}
}
