package stacks

import (
	"unsafe"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// A known key's check computes u1·G + u2·Q. decred multiplies by G with a
// precomputed table (32 mixed additions) but by any other point with a full
// variable-base multiplication (≈ 130 doublings and additions, most of a
// check's cost). For a wallet that keeps signing, a table of Q's multiples
// turns u2·Q into one mixed addition per window, as G's table does.
//
// The scalar is read in signed windows of tableWindow bits, least
// significant first: digit d_i ∈ [-(2^(w-1)-1), 2^(w-1)], the carry into
// the next window making Σ d_i·2^(w·i) = u2 exactly. The table holds, for
// each window i, d·2^(w·i)·Q for d = 1..2^(w-1) in affine coordinates (Z =
// 1, so each addition is decred's mixed addition); a negative digit adds the
// point negated (y → −y). A zero digit adds nothing.
//
// The sum after window i is S_i·Q with S_i = (u2 mod 2^(w(i+1))) minus
// 2^(w(i+1)) when a carry leaves the window, so |S_i| ≤ 2^(w(i+1))/2: below
// the top window |S_i| < 2^255 < n, and S_i·Q is ∞ only while S_i = 0 (the
// low windows all zero); the last sum is u2·Q. decred's AddNonConst handles
// ∞, equal and opposite points in any case; the differential tests compare
// with ScalarMultNonConst.

// Window width: memory per key against additions per multiplication
// (measured on the shared development machine, multiplication alone, ratio
// to ScalarMultNonConst in the same run): 4 bits, 41.6 KB, 65 windows,
// ≈ 0.47×; 5 bits, 66.6 KB, ≈ 0.4×; 6 bits, 110 KB, ≈ 0.25×; 8 bits,
// 338 KB, ≈ 0.2–0.35× (and 10 ms to build). 4 bits: the multiplication at
// under half its cost for the least memory, so that a few hundred keys with
// a table stay near 10 MB.
const (
	tableWindow  = 4                      // bits per window
	tableDigits  = 1 << (tableWindow - 1) // points per window: 1..2^(w-1)
	tableWindows = 256/tableWindow + 1    // 256 bits, plus the last carry
)

// TableBytes is the size of one key's table (41,600 bytes: 520 affine
// points of two field values), allocated once by KnownKey.WithTable (the
// allocator rounds it to 48 KiB).
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

// mul sets result = k·Q (normalized Jacobian; all zero for ∞).
func (t *keyTable) mul(k *secp256k1.ModNScalar, result *secp256k1.JacobianPoint) {
	b := k.Bytes()
	result.X.Zero()
	result.Y.Zero()
	result.Z.Zero()
	var pt secp256k1.JacobianPoint
	pt.Z.SetInt(1)
	carry := 0
	for i := range tableWindows {
		d := windowBits(&b, i*tableWindow) + carry
		carry = 0
		if d > tableDigits {
			d -= 1 << tableWindow
			carry = 1
		}
		switch {
		case d > 0:
			p := &t[i][d-1]
			pt.X.Set(&p.x)
			pt.Y.Set(&p.y)
		case d < 0:
			p := &t[i][-d-1]
			pt.X.Set(&p.x)
			pt.Y.NegateVal(&p.y, 1).Normalize()
		default:
			continue
		}
		secp256k1.AddNonConst(result, &pt, result)
	}
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
