package stacks

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"unsafe"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// A known key's check computes u1·G + u2·Q. decred multiplies by G with a
// precomputed table (32 mixed additions) but by any other point with a full
// variable-base multiplication (≈ 130 doublings and additions, most of a
// check's cost). For a wallet that keeps signing, a table of Q's multiples
// turns u2·Q into one mixed addition per window and half, as G's table does.
//
// The halves: secp256k1's endomorphism φ(x, y) = (β·x, y) = λ·(x, y) lets
// u2 be split as k1 + λ·k2 (mod n) with |k1|, |k2| < 2^129 (splitScalar,
// the GLV decomposition as decred's ScalarMultNonConst does it), so u2·Q =
// k1·Q + k2·φ(Q): one table of Q's multiples for 129-bit scalars serves
// both, a point of φ(Q)'s table being the same point with x times β.
//
// Each half is read in signed windows of tableWindow bits, least
// significant first: digit d_i ∈ [−(2^(w−1)−1), 2^(w−1)], the carry into
// the next window making Σ d_i·2^(w·i) the half exactly. The table holds,
// for each window i, d·2^(w·i)·Q for d = 1..2^(w−1) in affine coordinates
// (Z = 1, so each addition is decred's mixed addition); a negative digit,
// or a half that was negated to be short, adds the point negated (y → −y).
// A zero digit adds nothing. decred's AddNonConst handles ∞, equal and
// opposite points on the way; the differential tests compare the result
// with ScalarMultNonConst. A half that does not fit the windows (never seen;
// the decomposition bounds them) falls back to ScalarMultNonConst.

// Window width: memory per key against additions per multiplication. With
// the halves, w bits take ⌈130/w⌉ windows of 2^(w−1) points (80 bytes each)
// and ≈ 2·⌈130/w⌉·(1 − 2^−w) additions: 4 bits, 21 KB, ≈ 62; 5 bits, 33 KB,
// ≈ 50; 6 bits, 56 KB, ≈ 43 (and 2.5 ms to build); without the halves,
// 4 bits took 41.6 KB for ≈ 61. Measured on the shared two-core machine
// (user CPU time of 10,000 checks): 5 bits with the halves and 4 bits without,
// 104–118 µs against 114–122 µs a check, the plain known-key check
// 203–221 µs. 5 bits: fewer additions than 4 and a third less memory than 6.
const (
	tableWindow  = 5                                              // bits per window
	tableDigits  = 1 << (tableWindow - 1)                         // points per window: 1..2^(w-1)
	tableWindows = (halfBits + 1 + tableWindow - 1) / tableWindow // a half of halfBits bits, and the carry
	halfBits     = 129                                            // |k1|, |k2| < 2^halfBits
)

// TableBytes is the size of one key's table (33,280 bytes: 416 affine
// points of two field values), allocated once by KnownKey.WithTable (the
// allocator rounds it to 40 KiB).
const TableBytes = int(unsafe.Sizeof(keyTable{}))

// affinePoint is a point with Z = 1, both coordinates normalized.
type affinePoint struct{ x, y secp256k1.FieldVal }

// keyTable is a key's precomputed multiples; read-only once built.
type keyTable [tableWindows][tableDigits]affinePoint

// newKeyTable builds q's table (q affine, not infinity): per window
// 2^(w-1)−1 additions and w doublings in Jacobian coordinates, then every
// point to affine with one field inversion (Montgomery's batch trick).
func newKeyTable(q *secp256k1.JacobianPoint) *keyTable {
	const total = tableWindows * tableDigits
	jac := make([]secp256k1.JacobianPoint, total)
	var base secp256k1.JacobianPoint
	base.Set(q)
	for i := range tableWindows {
		row := jac[i*tableDigits : (i+1)*tableDigits]
		row[0].Set(&base)
		for d := 1; d < tableDigits; d++ {
			secp256k1.AddNonConst(&row[d-1], &base, &row[d])
		}
		// next base = 2^w·base = 2·(2^(w-1)·base)
		secp256k1.DoubleNonConst(&row[tableDigits-1], &base)
	}
	// prefix[i] = Z_0·…·Z_i; one inversion; then walk back.
	prefix := make([]secp256k1.FieldVal, total)
	for i := range jac {
		if jac[i].Z.Normalize().IsZero() {
			return nil // ∞: impossible for a valid key (n is prime and > 2^w)
		}
		if i == 0 {
			prefix[0].Set(&jac[0].Z)
		} else {
			prefix[i].Mul2(&prefix[i-1], &jac[i].Z)
		}
	}
	var inv secp256k1.FieldVal // (Z_0·…·Z_i)⁻¹ at step i
	inv.Set(&prefix[total-1]).Inverse()
	t := new(keyTable)
	for i := total - 1; i >= 0; i-- {
		var zinv, zinv2 secp256k1.FieldVal
		if i > 0 {
			zinv.Mul2(&inv, &prefix[i-1]) // Z_i⁻¹
			inv.Mul(&jac[i].Z)            // (Z_0·…·Z_{i-1})⁻¹
		} else {
			zinv.Set(&inv)
		}
		zinv2.SquareVal(&zinv)
		p := &t[i/tableDigits][i%tableDigits]
		p.x.Mul2(&jac[i].X, &zinv2).Normalize()
		p.y.Mul2(&jac[i].Y, zinv2.Mul(&zinv)).Normalize()
	}
	return t
}

// mul sets result = k·Q (normalized Jacobian; all zero for ∞); q is the
// table's point.
func (t *keyTable) mul(k *secp256k1.ModNScalar, q, result *secp256k1.JacobianPoint) {
	k1, k2, neg1, neg2 := splitScalar(k)
	d1, ok1 := recode(&k1)
	d2, ok2 := recode(&k2)
	if !ok1 || !ok2 {
		secp256k1.ScalarMultNonConst(k, q, result)
		return
	}
	result.X.Zero()
	result.Y.Zero()
	result.Z.Zero()
	for i := range tableWindows {
		addDigit(result, &t[i], d1[i], neg1, false)
		addDigit(result, &t[i], d2[i], neg2, true)
	}
}

// addDigit adds d·row's point to acc: negated when neg, φ of it when endo.
func addDigit(acc *secp256k1.JacobianPoint, row *[tableDigits]affinePoint, d int8, neg, endo bool) {
	if d == 0 {
		return
	}
	if d < 0 {
		d, neg = -d, !neg
	}
	p := &row[d-1]
	var pt secp256k1.JacobianPoint
	if endo {
		pt.X.Mul2(&p.x, &endoBeta).Normalize()
	} else {
		pt.X.Set(&p.x)
	}
	if neg {
		pt.Y.NegateVal(&p.y, 1).Normalize()
	} else {
		pt.Y.Set(&p.y)
	}
	pt.Z.SetInt(1)
	secp256k1.AddNonConst(acc, &pt, acc)
}

// recode is k's signed digits (see above); false when k ≥ 2^halfBits.
func recode(k *secp256k1.ModNScalar) (digits [tableWindows]int8, ok bool) {
	b := k.Bytes()
	for i := 0; i < 32-(halfBits+7)/8; i++ {
		if b[i] != 0 {
			return digits, false
		}
	}
	if b[31-halfBits/8]>>(halfBits%8) != 0 {
		return digits, false
	}
	carry := 0
	for i := range tableWindows {
		d := windowBits(&b, i*tableWindow) + carry
		carry = 0
		if d > tableDigits {
			d -= 1 << tableWindow
			carry = 1
		}
		digits[i] = int8(d)
	}
	return digits, carry == 0
}

// windowBits is the tableWindow bits of the big-endian b from bit pos
// (0 = least significant); bits past 255 are zero.
func windowBits(b *[32]byte, pos int) int {
	v := 0
	for j := range tableWindow {
		bit := pos + j
		if bit >= 256 {
			break
		}
		v |= int(b[31-bit/8]>>(bit%8)&1) << j
	}
	return v
}

// splitScalar returns k1, k2 with k ≡ ±k1 + λ·(±k2) (mod n), the sign
// minus where neg1, neg2: c1 = round(k·z1 / 2^320), c2 = round(k·z2 /
// 2^320), k2 = c1·(−b1) + c2·(−b2), k1 = k − λ·k2, then each half negated
// when over n/2 (decred's splitK, whose constants these are; any c1, c2
// give k1 + λ·k2 ≡ k, the rounding only keeps the halves short).
func splitScalar(k *secp256k1.ModNScalar) (k1, k2 secp256k1.ModNScalar, neg1, neg2 bool) {
	b := k.Bytes()
	c1, c2 := mulShift320Round(&b, &endoZ1), mulShift320Round(&b, &endoZ2)
	c1.Mul(&endoNegB1)
	c2.Mul(&endoNegB2)
	k2.Add2(&c1, &c2)
	k1.Mul2(&k2, &endoNegLambda).Add(k)
	if k1.IsOverHalfOrder() {
		k1.Negate()
		neg1 = true
	}
	if k2.IsOverHalfOrder() {
		k2.Negate()
		neg2 = true
	}
	return k1, k2, neg1, neg2
}

// mulShift320Round is round(k·z / 2^320) mod n for the big-endian k and z
// (three little-endian words).
func mulShift320Round(kb *[32]byte, z *[3]uint64) secp256k1.ModNScalar {
	var k [4]uint64
	for i := range 4 {
		k[i] = binary.BigEndian.Uint64(kb[24-8*i:])
	}
	var p [7]uint64
	for i := range 4 {
		var carry uint64
		for j := range 3 {
			hi, lo := bits.Mul64(k[i], z[j])
			var c uint64
			lo, c = bits.Add64(lo, p[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			p[i+j], carry = lo, hi
		}
		p[i+3] = carry
	}
	lo, c := bits.Add64(p[5], p[4]>>63, 0)
	hi, c := bits.Add64(p[6], 0, c)
	var out [32]byte
	out[15] = byte(c)
	binary.BigEndian.PutUint64(out[16:], hi)
	binary.BigEndian.PutUint64(out[24:], lo)
	var s secp256k1.ModNScalar
	s.SetBytes(&out)
	return s
}

// The endomorphism's constants (decred's curve.go, from its genprecomps.go):
// β (a cube root of 1 mod p), −λ (λ the matching cube root of 1 mod n),
// −b1 and −b2 of the lattice basis, z1 = ⌊b2·2^320/n⌋, z2 = ⌊−b1·2^320/n⌋.
var (
	endoBeta      = fieldFromHex("7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501ee")
	endoNegLambda = scalarFromHex("5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72", true)
	endoNegB1     = scalarFromHex("e4437ed6010e88286f547fa90abfe4c3", false)
	endoNegB2     = scalarFromHex("3086d221a7d46bcde86c90e49284eb15", true)
	endoZ1        = wordsFromHex("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7f")
	endoZ2        = wordsFromHex("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c6")
)

func fieldFromHex(h string) secp256k1.FieldVal {
	var f secp256k1.FieldVal
	f.SetByteSlice(mustHexBytes(h))
	f.Normalize()
	return f
}

func scalarFromHex(h string, negate bool) secp256k1.ModNScalar {
	var s secp256k1.ModNScalar
	s.SetByteSlice(mustHexBytes(h))
	if negate {
		s.Negate()
	}
	return s
}

func wordsFromHex(h string) [3]uint64 {
	b := mustHexBytes(h)
	var w [3]uint64
	for i := range 3 {
		w[i] = binary.BigEndian.Uint64(b[16-8*i:])
	}
	return w
}

func mustHexBytes(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return b
}
