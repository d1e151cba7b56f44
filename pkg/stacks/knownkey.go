package stacks

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// A server that verifies many messages of one wallet recovers the same
// public key each time. Recovering costs a square root (the nonce point R
// from r), two scalar multiplications and an inversion back to affine
// coordinates, plus the key's serialisation and hash160 for the address
// check. Once a key has been recovered for an address, a later signature of
// that address can instead be checked against it: R = u1·G + u2·Q compared
// with the nonce point in projective coordinates, which skips the inversion,
// the serialisation and the hash160.
//
// The check only ever accepts: when it does not hold, VerifyMessageKnown
// falls back to VerifyMessage, so every refusal, its error and its ranking
// are exactly VerifyMessage's. It accepts exactly when VerifyMessage would
// accept the same first reading (current prefix, RSV or VRS as
// DecodeSignature orders them) with the same key:
//
//   - the same rules first: v in 0..3, r and s in [1, n-1], low S;
//   - the nonce point X built from r and v exactly as recovery builds it
//     (r + n when the overflow bit is set and r + n < p, the y of the parity
//     bit), so a signature with another recovery id recovers another key
//     and is not accepted here;
//   - recovery yields Q' = r⁻¹(s·X − e·G); Q' = Q ⇔ r·Q = s·X − e·G ⇔
//     X = s⁻¹(e·G + r·Q), which is what is compared. Q is the key recovered
//     for this address before, whose hash160 is the address's, so Q' = Q
//     means VerifyMessage's address check passes with the same key.
//
// A key with a table (KnownKey.WithTable, keytable.go) computes u2·Q from
// the table instead of ScalarMultNonConst: the same point, so the same
// comparison and the same acceptance.

// KnownKey is a compressed public key proven to be addr's: a signature by
// addr recovered it (VerifyMessageKnown returns one). Its zero value is no
// key. A KnownKey is never modified: safe for concurrent use.
type KnownKey struct {
	addr  Address
	pub   [33]byte
	point secp256k1.JacobianPoint // affine: Z = 1
	table *keyTable               // nil: u2·Q by ScalarMultNonConst (keytable.go)
}

// PublicKey returns the compressed key (33 bytes).
func (k *KnownKey) PublicKey() []byte { return append([]byte(nil), k.pub[:]...) }

// WithTable returns k with a table of its point's multiples (keytable.go):
// TableBytes of memory, about a millisecond to build, and every later check
// against it about twice as fast. Build one for a key that keeps being used,
// not on its first use. k itself is unchanged; a key that already has a
// table is returned as it is.
func (k *KnownKey) WithTable() *KnownKey {
	if k.table != nil {
		return k
	}
	t := newKeyTable(&k.point)
	if t == nil {
		return k
	}
	return &KnownKey{addr: k.addr, pub: k.pub, point: k.point, table: t}
}

// HasTable reports whether k was built by WithTable.
func (k *KnownKey) HasTable() bool { return k.table != nil }

// VerifyMessageKnown is VerifyMessage, checking the signature against known
// first when known is addr's key (see above): the same acceptance, the same
// errors. It also returns addr's key as a KnownKey for the next message
// (known itself when it was used, nil on failure).
func VerifyMessageKnown(msg []byte, sigHex string, addr Address, known *KnownKey) ([]byte, *KnownKey, error) {
	if known != nil && known.addr == addr && addr.IsSingleSig() {
		if sigs, _, err := decodeSignature(sigHex); err == nil {
			hash := HashMessage(msg)
			if signedBy(&hash, &sigs[0], &known.point, known.table) {
				return known.PublicKey(), known, nil
			}
		}
	}
	sigs, n, err := decodeSignature(sigHex)
	if err != nil {
		return nil, nil, err
	}
	pub, q, err := verifyMessageDecoded(msg, sigs[:n], addr)
	if err != nil {
		return nil, nil, err
	}
	k := &KnownKey{addr: addr, pub: [33]byte(pub)}
	q.AsJacobian(&k.point)
	return pub, k, nil
}

// signedBy reports whether sig over hash is a low-S signature whose
// recovery yields q (affine), without recovering (see above). table, when
// not nil, is q's table.
func signedBy(hash *[32]byte, sig *Signature, q *secp256k1.JacobianPoint, table *keyTable) bool {
	highS, err := checkRanges(sig)
	if err != nil || highS {
		return false
	}
	var r, s, e secp256k1.ModNScalar
	r.SetBytes(&sig.R) // in range: checkRanges
	s.SetBytes(&sig.S)
	e.SetBytes(hash) // reduced mod n, as RecoverCompact reduces the hash

	// X: the nonce point, exactly as ecdsa.RecoverCompact builds it.
	var x, y secp256k1.FieldVal
	x.SetBytes(&sig.R)
	if sig.RecoveryID&2 != 0 {
		if x.IsGtOrEqPrimeMinusOrder() {
			return false
		}
		x.Add(&curveOrderAsField)
	}
	x.Normalize()
	if !secp256k1.DecompressY(&x, sig.RecoveryID&1 != 0, &y) {
		return false
	}
	y.Normalize()

	// R = u1·G + u2·Q with u1 = e/s, u2 = r/s.
	var w, u1, u2 secp256k1.ModNScalar
	w.InverseValNonConst(&s)
	u1.Mul2(&e, &w)
	u2.Mul2(&r, &w)
	var u1G, u2Q, R secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&u1, &u1G)
	if table != nil {
		table.mul(&u2, q, &u2Q)
	} else {
		secp256k1.ScalarMultNonConst(&u2, q, &u2Q)
	}
	secp256k1.AddNonConst(&u1G, &u2Q, &R)
	if R.Z.Normalize().IsZero() {
		return false // infinity
	}

	// R (projective) = X (affine): R.X = x·Z², R.Y = y·Z³.
	var z2, z3, t secp256k1.FieldVal
	z2.SquareVal(&R.Z)
	z3.Mul2(&z2, &R.Z)
	if !t.Mul2(&x, &z2).Normalize().Equals(R.X.Normalize()) {
		return false
	}
	return t.Mul2(&y, &z3).Normalize().Equals(R.Y.Normalize())
}

// curveOrderAsField is n as a field element (n < p).
var curveOrderAsField = func() secp256k1.FieldVal {
	var f secp256k1.FieldVal
	f.SetByteSlice(secp256k1.Params().N.Bytes())
	return f
}()
