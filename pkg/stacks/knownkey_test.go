package stacks

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// knownCase is a signature to verify for an address.
type knownCase struct {
	name string
	msg  []byte
	sig  string
	addr Address
}

// sameOutcome fails unless VerifyMessageKnown with known returns what
// VerifyMessage returns: the same key, or the same error.
func sameOutcome(t *testing.T, c knownCase, known *KnownKey) {
	t.Helper()
	sameOutcomes(t, c, []*KnownKey{known})
}

// sameOutcomes is sameOutcome for each of knowns, VerifyMessage run once.
func sameOutcomes(t *testing.T, c knownCase, knowns []*KnownKey) {
	t.Helper()
	want, wantErr := VerifyMessage(c.msg, c.sig, c.addr)
	for _, known := range knowns {
		got, next, err := VerifyMessageKnown(c.msg, c.sig, c.addr, known)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
			t.Fatalf("%s: VerifyMessageKnown = %x, %v; VerifyMessage = %x, %v", c.name, got, err, want, wantErr)
		}
		switch {
		case err != nil && next != nil:
			t.Fatalf("%s: a refusal returned a known key", c.name)
		case err == nil && (next == nil || !bytes.Equal(next.PublicKey(), want) || next.addr != c.addr):
			t.Fatalf("%s: the known key returned is not the verified one", c.name)
		}
	}
}

// mutations are forms of one signature: every re-encoding the decoder
// accepts, every other recovery id, the malleated (high-S) twin, tampered
// r and s, and another message or key.
func mutations(t *testing.T, k *PrivateKey, msg []byte, addr Address) []knownCase {
	t.Helper()
	sig, err := SignHash(k, HashMessage(msg))
	if err != nil {
		t.Fatal(err)
	}
	rsv := sig.RSV()
	withV := func(v byte) string { b := rsv; b[64] = v; return hex.EncodeToString(b[:]) }
	n := secp256k1.Params().N
	highS := sig
	new(big.Int).Sub(n, new(big.Int).SetBytes(sig.S[:])).FillBytes(highS.S[:])
	highS.RecoveryID ^= 1
	bump := func(b [32]byte) [32]byte {
		v := new(big.Int).SetBytes(b[:])
		v.Add(v, big.NewInt(1)).FillBytes(b[:])
		return b
	}
	tamperedR, tamperedS := sig, sig
	tamperedR.R, tamperedS.S = bump(sig.R), bump(sig.S)
	legacy, err := SignHash(k, HashMessageWithPrefix(PrefixLegacy, msg))
	if err != nil {
		t.Fatal(err)
	}
	other, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := SignMessage(other, msg)
	if err != nil {
		t.Fatal(err)
	}
	otherMsg, err := SignMessage(k, append([]byte("x"), msg...))
	if err != nil {
		t.Fatal(err)
	}
	vrs := append([]byte{sig.RecoveryID}, rsv[:64]...)
	cases := []knownCase{
		{"rsv", msg, sig.String(), addr},
		{"upper-0x", msg, "0X" + strings.ToUpper(sig.String()), addr},
		{"vrs", msg, hex.EncodeToString(vrs), addr},
		{"high-s", msg, highS.String(), addr},
		{"high-s-same-v", msg, func() string { h := highS; h.RecoveryID ^= 1; return h.String() }(), addr},
		{"tampered-r", msg, tamperedR.String(), addr},
		{"tampered-s", msg, tamperedS.String(), addr},
		{"legacy-prefix", msg, legacy.String(), addr},
		{"other-key", msg, byOther, addr},
		{"other-message", msg, otherMsg, addr},
		{"other-address", msg, sig.String(), other.Address(Mainnet)},
		{"non-single-sig", msg, sig.String(), Address{Version: VersionMainnetMultiSig, Hash160: addr.Hash160}},
		{"malformed", msg, sig.String()[2:], addr},
	}
	for v := range byte(35) {
		if v != sig.RecoveryID {
			cases = append(cases, knownCase{fmt.Sprintf("v=%d", v), msg, withV(v), addr})
		}
	}
	return cases
}

func TestVerifyMessageKnownAcceptsExactlyWhatVerifyMessageDoes(t *testing.T) {
	for i := range 24 {
		k, err := GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		addr := k.Address(Mainnet)
		if i%2 == 1 {
			addr = k.Address(Testnet)
		}
		msg := []byte(fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, 1700000000000+i))
		first, err := SignMessage(k, []byte("first"))
		if err != nil {
			t.Fatal(err)
		}
		_, known, err := VerifyMessageKnown([]byte("first"), first, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		otherKey, _ := GeneratePrivateKey()
		otherSig, _ := SignMessage(otherKey, []byte("first"))
		_, otherKnown, err := VerifyMessageKnown([]byte("first"), otherSig, otherKey.Address(Mainnet), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Tables built once per key (a build is ~1 ms, ~20x that under -race).
		knowns := []*KnownKey{nil, known, known.WithTable(), otherKnown, otherKnown.WithTable()}
		for _, c := range mutations(t, k, msg, addr) {
			sameOutcomes(t, c, knowns)
		}
	}
}

// TestVerifyMessageKnownSkipsRecovery: with addr's key known, a valid
// signature is accepted by the check against it, and no other reading of
// the same bytes is (so only a true acceptance takes the short path).
func TestVerifyMessageKnownSkipsRecovery(t *testing.T) {
	k, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	var q secp256k1.JacobianPoint
	k.key.PubKey().AsJacobian(&q)
	table := newKeyTable(&q)
	for i := range 64 {
		hash := HashMessage([]byte(fmt.Sprint("m", i)))
		sig, err := SignHash(k, hash)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range []*keyTable{nil, table} {
			if !signedBy(&hash, &sig, &q, tb) {
				t.Fatalf("message %d (table %t): a valid signature fails the known-key check", i, tb != nil)
			}
			for v := range byte(4) {
				other := sig
				other.RecoveryID = v
				if v != sig.RecoveryID && signedBy(&hash, &other, &q, tb) {
					t.Fatalf("message %d (table %t): recovery id %d (signed with %d) passes the known-key check", i, tb != nil, v, sig.RecoveryID)
				}
			}
			other := hash
			other[0] ^= 1
			if signedBy(&other, &sig, &q, tb) {
				t.Fatalf("message %d (table %t): another hash passes the known-key check", i, tb != nil)
			}
		}
	}
}

// TestVerifyMessageKnownVectors runs every message vector through
// VerifyMessageKnown with the vector key's KnownKey: the outcome is
// VerifyMessage's, the JavaScript libraries' signatures included.
func TestVerifyMessageKnownVectors(t *testing.T) {
	v := loadVectors(t)
	knownOf := map[Address]*KnownKey{}
	var cases []knownCase
	for _, tc := range v.MessageSigning.Positive {
		for _, a := range []string{tc.AddressMainnet, tc.AddressTestnet} {
			addr := mustAddress(t, a)
			cases = append(cases, knownCase{tc.ID + "/rsv", []byte(tc.Message), tc.RSV, addr}, knownCase{tc.ID + "/vrs", []byte(tc.Message), tc.VRS, addr})
			if knownOf[addr] == nil {
				_, kk, err := VerifyMessageKnown([]byte(tc.Message), tc.RSV, addr, nil)
				if err != nil {
					t.Fatalf("%s: %v", tc.ID, err)
				}
				knownOf[addr] = kk
			}
		}
	}
	for _, tc := range v.MessageSigning.Negative {
		if tc.ClaimedAddress != "" {
			cases = append(cases, knownCase{tc.ID, []byte(tc.Message), tc.RSV, mustAddress(t, tc.ClaimedAddress)})
		} else if a, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyHex), Mainnet); err == nil {
			cases = append(cases, knownCase{tc.ID, []byte(tc.Message), tc.RSV, a})
		}
	}
	for _, tc := range v.MessageSigning.Policy {
		if a, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyHex), Mainnet); err == nil {
			cases = append(cases, knownCase{tc.ID, []byte(tc.Message), tc.RSV, a})
		}
	}
	hits, tabled := 0, map[Address]*KnownKey{}
	for _, c := range cases {
		kk := knownOf[c.addr]
		if kk == nil {
			sameOutcome(t, c, nil)
			continue
		}
		if tabled[c.addr] == nil {
			tabled[c.addr] = kk.WithTable()
		}
		sameOutcomes(t, c, []*KnownKey{kk, tabled[c.addr]})
		hits++
	}
	if hits < len(v.MessageSigning.Positive) {
		t.Fatalf("only %d of %d cases had a known key", hits, len(cases))
	}
}

// FuzzVerifyMessageKnown: for a message signed by a fixed key, then one
// byte of the 65 changed (xor 0: the valid signature) and read as RSV or
// VRS, VerifyMessageKnown with the key (plain and with its table) and
// without it answers exactly as VerifyMessage.
func FuzzVerifyMessageKnown(f *testing.F) {
	f.Add([]byte(`{"action":"list_api_keys","timestamp":1700000000000}`), uint8(0), byte(0), false)
	f.Add([]byte("m"), uint8(64), byte(1), false)
	f.Add([]byte("m"), uint8(64), byte(2), true)
	f.Add([]byte("m"), uint8(64), byte(0x1b), false)
	f.Add([]byte(""), uint8(31), byte(0x80), false)
	f.Add([]byte("x"), uint8(32), byte(0xff), false)
	f.Add([]byte("y"), uint8(63), byte(1), true)
	k := mustKey(f, testKeyHex)
	addr := k.Address(Mainnet)
	_, plain, err := VerifyMessageKnown([]byte("first"), must(SignMessage(k, []byte("first"))), addr, nil)
	if err != nil {
		f.Fatal(err)
	}
	tabled := plain.WithTable()
	f.Fuzz(func(t *testing.T, msg []byte, pos uint8, xor byte, vrs bool) {
		sig, err := SignHash(k, HashMessage(msg))
		if err != nil {
			t.Fatal(err)
		}
		b := sig.RSV()
		b[int(pos)%65] ^= xor
		if vrs {
			b = [65]byte(append([]byte{b[64]}, b[:64]...))
		}
		c := knownCase{fmt.Sprintf("pos %d xor %#x vrs %t", pos, xor, vrs), msg, hex.EncodeToString(b[:]), addr}
		for _, kk := range []*KnownKey{nil, plain, tabled} {
			sameOutcome(t, c, kk)
		}
	})
}
