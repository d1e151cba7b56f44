package stacks

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Signature is a recoverable secp256k1 signature. RecoveryID is normalised to 0..3.
type Signature struct {
	R, S       [32]byte
	RecoveryID byte
}

// signatureHexLen is 65 bytes of hex.
const signatureHexLen = 130

// normaliseV maps a recovery byte to 0..3: raw ids 0..3 as stacks.js emits,
// 27..30 and 31..34 as Bitcoin-compact / Ethereum-style headers carry them.
func normaliseV(v byte) (byte, bool) {
	switch {
	case v <= 3:
		return v, true
	case 27 <= v && v <= 30:
		return v - 27, true
	case 31 <= v && v <= 34:
		return v - 31, true
	}
	return 0, false
}

// DecodeSignature decodes 65 bytes of hex (optional 0x/0X prefix, either letter
// case) into its well-formed interpretations: RSV first (what wallets send),
// then VRS. Anything else, including 64 or 66 bytes, DER, odd length and the
// empty string, fails with ErrMalformedSignature, as does a signature whose
// first and last bytes are both outside 0..3 and 27..34.
func DecodeSignature(s string) ([]Signature, error) {
	sigs, n, err := decodeSignature(s)
	if err != nil {
		return nil, err
	}
	return append([]Signature(nil), sigs[:n]...), nil
}

// decodeSignature is DecodeSignature without the allocation.
func decodeSignature(s string) (sigs [2]Signature, n int, err error) {
	bad := func(format string, args ...any) ([2]Signature, int, error) {
		return sigs, 0, fmt.Errorf("stacks: "+format+": %w", append(args, ErrMalformedSignature)...)
	}
	h := trim0x(s)
	if len(h) != signatureHexLen {
		switch {
		case s == "":
			return bad("empty signature")
		case len(h) >= 140 && len(h) <= 146 && strings.HasPrefix(h, "30"):
			return bad("signature is %d hex characters and looks DER-encoded; want 65-byte RSV as stx_signMessage returns", len(h))
		}
		return bad("signature is %d hex characters, want 130 (65 bytes: r, s, recovery id)", len(h))
	}
	var raw [65]byte
	if i := decodeHex(raw[:], h); i >= 0 {
		return bad("signature has non-hex character %q at position %d", h[i], i+len(s)-len(h))
	}
	if v, ok := normaliseV(raw[64]); ok {
		sigs[n] = Signature{R: [32]byte(raw[0:32]), S: [32]byte(raw[32:64]), RecoveryID: v}
		n++
	}
	if v, ok := normaliseV(raw[0]); ok {
		vrs := Signature{R: [32]byte(raw[1:33]), S: [32]byte(raw[33:65]), RecoveryID: v}
		if n == 0 || vrs != sigs[0] {
			sigs[n] = vrs
			n++
		}
	}
	if n == 0 {
		return bad("neither the last byte (0x%02x) nor the first (0x%02x) is a recovery id (0..3 or 27..34)", raw[64], raw[0])
	}
	return sigs, n, nil
}

// RSV returns r || s || v with v the normalised recovery id.
func (s Signature) RSV() [65]byte {
	var b [65]byte
	copy(b[0:32], s.R[:])
	copy(b[32:64], s.S[:])
	b[64] = s.RecoveryID
	return b
}

// String returns the RSV form as lower-case hex without 0x, as wallets send it.
func (s Signature) String() string {
	b := s.RSV()
	return hex.EncodeToString(b[:])
}

// RecoverPublicKey recovers the 33-byte compressed public key that produced
// sig over hash. r or s of 0 or >= n fail with ErrMalformedSignature and s > n/2
// with ErrHighS before any curve arithmetic; a signature that recovers no point
// fails with ErrInvalidSignature.
func RecoverPublicKey(hash [32]byte, sig Signature) ([]byte, error) {
	pub, err := recoverKey(&hash, &sig)
	if err != nil {
		return nil, err
	}
	return pub.SerializeCompressed(), nil
}

// recoverKey range-checks sig, refuses high S, then recovers its public key.
func recoverKey(hash *[32]byte, sig *Signature) (*secp256k1.PublicKey, error) {
	highS, err := checkRanges(sig)
	if err != nil {
		return nil, err
	}
	if highS {
		return nil, errHighS()
	}
	return recoverRaw(hash, sig)
}

func errHighS() error {
	return fmt.Errorf("stacks: signature s is above n/2 (malleated); wallets sign with low S: %w", ErrHighS)
}

// checkRanges requires v in 0..3 and r, s in [1, n-1], and reports a high S.
func checkRanges(sig *Signature) (highS bool, err error) {
	if sig.RecoveryID > 3 {
		return false, fmt.Errorf("stacks: recovery id %d is not 0..3: %w", sig.RecoveryID, ErrMalformedSignature)
	}
	var r, s secp256k1.ModNScalar
	if r.SetBytes(&sig.R) != 0 || r.IsZero() {
		return false, fmt.Errorf("stacks: signature r is 0 or not below the curve order: %w", ErrMalformedSignature)
	}
	if s.SetBytes(&sig.S) != 0 || s.IsZero() {
		return false, fmt.Errorf("stacks: signature s is 0 or not below the curve order: %w", ErrMalformedSignature)
	}
	return s.IsOverHalfOrder(), nil
}

// recoverRaw recovers the public key of a range-checked signature, high S or not.
func recoverRaw(hash *[32]byte, sig *Signature) (*secp256k1.PublicKey, error) {
	// decred's compact form: header 27 + 4 (compressed) + recovery id, then r, s.
	var compact [65]byte
	compact[0] = 27 + 4 + sig.RecoveryID
	copy(compact[1:33], sig.R[:])
	copy(compact[33:65], sig.S[:])
	pub, _, err := ecdsa.RecoverCompact(compact[:], hash[:])
	if err != nil {
		return nil, fmt.Errorf("stacks: signature recovers no public key (%v): %w", err, ErrInvalidSignature)
	}
	return pub, nil
}

// VerifyHash checks that sigHex over hash recovers to a public key whose P2PKH
// address, in addr's network, is exactly addr, and returns that compressed key.
// Every interpretation DecodeSignature returns is tried. When none is a valid
// low-S signature by addr, the error explains the most telling reading:
// ErrHighS if one is addr's signature with a high S (malleated), else
// ErrInvalidSignature if a well-formed low-S reading recovered another key,
// else ErrHighS, else ErrMalformedSignature. So an accidental second reading
// of a wrong-key signature never masks the real problem, and vice versa.
func VerifyHash(hash [32]byte, sigHex string, addr Address) ([]byte, error) {
	sigs, n, err := decodeSignature(sigHex)
	if err != nil {
		return nil, err
	}
	pub, _, _, err := verifyDecoded(&hash, sigs[:n], addr)
	return pub, err
}

// VerifyHashSignature is VerifyHash returning the reading of sigHex that
// verified (low S, recovery id 0..3) instead of the key: the canonical form
// to pass on, e.g. to a contract's secp256k1-recover? as Signature.RSV,
// whichever of the accepted forms (RSV or VRS, v 0..3 or 27..34) was sent.
func VerifyHashSignature(hash [32]byte, sigHex string, addr Address) (Signature, error) {
	sigs, n, err := decodeSignature(sigHex)
	if err != nil {
		return Signature{}, err
	}
	for i := range sigs[:n] {
		if _, _, _, err := verifyOne(&hash, &sigs[i], addr); err == nil {
			return sigs[i], nil
		}
	}
	_, _, _, err = verifyDecoded(&hash, sigs[:n], addr) // the ranked explanation
	return Signature{}, err
}

// Ranks of verification failures, most telling last.
const (
	rankMalformed = iota + 1 // r, s or v out of range
	rankHighS                // high S, recovers another key
	rankInvalid              // low S, recovers another key (or no key)
	rankMalleated            // high S, recovers addr: a malleated valid signature
)

// verifyDecoded tries each interpretation against addr and ranks the
// failure. It returns the key compressed and as a point.
func verifyDecoded(hash *[32]byte, sigs []Signature, addr Address) ([]byte, *secp256k1.PublicKey, int, error) {
	var (
		best error
		rank int
	)
	for i := range sigs {
		key, pub, r, err := verifyOne(hash, &sigs[i], addr)
		if err == nil {
			return key, pub, 0, nil
		}
		if r > rank {
			best, rank = err, r
		}
	}
	if best == nil { // unreachable: decodeSignature never returns zero interpretations
		best, rank = fmt.Errorf("stacks: no signature: %w", ErrMalformedSignature), rankMalformed
	}
	return nil, nil, rank, best
}

// verifyOne checks one interpretation. A high-S signature is still recovered,
// to recognise a malleated signature of addr.
func verifyOne(hash *[32]byte, sig *Signature, addr Address) ([]byte, *secp256k1.PublicKey, int, error) {
	highS, err := checkRanges(sig)
	if err != nil {
		return nil, nil, rankMalformed, err
	}
	pub, err := recoverRaw(hash, sig)
	if err != nil {
		if highS {
			return nil, nil, rankHighS, errHighS()
		}
		return nil, nil, rankInvalid, err
	}
	key := pub.SerializeCompressed()
	h := Hash160(key)
	matches := addr.IsSingleSig() && h == addr.Hash160
	switch {
	case matches && !highS:
		return key, pub, 0, nil
	case matches:
		return nil, nil, rankMalleated, errHighS()
	case highS:
		return nil, nil, rankHighS, errHighS()
	}
	return nil, nil, rankInvalid, mismatch(addr, h)
}

// mismatch explains why a recovered key with hash160 h does not match addr.
func mismatch(addr Address, h [20]byte) error {
	if !addr.IsSingleSig() {
		return fmt.Errorf("stacks: %s is not a single-sig (SP/ST) address, so no signature can prove it: %w", addr, ErrInvalidSignature)
	}
	signer := Address{Version: addr.Version, Hash160: h}
	return fmt.Errorf("stacks: signature was made by %s, not %s: %w", signer, addr, ErrInvalidSignature)
}

// VerifyMessage verifies a stx_signMessage signature of msg by addr: first with
// the current prefix, then, if that does not verify, with the legacy prefix (as
// stacks.js does). It returns the compressed public key; errors as VerifyHash.
func VerifyMessage(msg []byte, sigHex string, addr Address) ([]byte, error) {
	sigs, n, err := decodeSignature(sigHex)
	if err != nil {
		return nil, err
	}
	key, _, err := verifyMessageDecoded(msg, sigs[:n], addr)
	return key, err
}

// verifyMessageDecoded is VerifyMessage of decoded interpretations; it
// returns the key compressed and as a point.
func verifyMessageDecoded(msg []byte, sigs []Signature, addr Address) ([]byte, *secp256k1.PublicKey, error) {
	hash := HashMessage(msg)
	key, pub, rank, err := verifyDecoded(&hash, sigs, addr)
	if err == nil || rank == rankMalleated || rank == rankMalformed {
		return key, pub, err // the legacy prefix cannot change these outcomes
	}
	legacy := HashMessageWithPrefix(PrefixLegacy, msg)
	key, pub, lrank, lerr := verifyDecoded(&legacy, sigs, addr)
	switch {
	case lerr == nil:
		return key, pub, nil
	case lrank == rankMalleated:
		return nil, nil, lerr
	}
	return nil, nil, err // the current-prefix explanation is the useful one
}

// CheckPublicKey checks a client-supplied public key (hex, optional 0x) against
// the recovered compressed key: ErrUncompressedPublicKey for a 65-byte key,
// ErrMalformedPublicKey for anything that is not a compressed point, and
// ErrPublicKeyMismatch when it is a different key.
func CheckPublicKey(claimedHex string, recovered []byte) error {
	h := trim0x(claimedHex)
	if h == "" {
		return fmt.Errorf("stacks: empty public key: %w", ErrMalformedPublicKey)
	}
	if len(h)%2 != 0 || len(h) > 2*65 {
		return fmt.Errorf("stacks: public key is %d hex characters, want 66: %w", len(h), ErrMalformedPublicKey)
	}
	var buf [65]byte
	pub := buf[:len(h)/2]
	if i := decodeHex(pub, h); i >= 0 {
		return fmt.Errorf("stacks: public key has non-hex character %q: %w", h[i], ErrMalformedPublicKey)
	}
	if err := checkCompressedKey(pub); err != nil {
		return err
	}
	if !bytes.Equal(pub, recovered) {
		return fmt.Errorf("stacks: public key %x did not make the signature (%x did): %w", pub, recovered, ErrPublicKeyMismatch)
	}
	return nil
}
