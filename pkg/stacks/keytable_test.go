package stacks

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// edgeScalars are scalars whose signed windows are special: 0, 1, n−1 and
// its neighbours, every window zero but one, every window 8 (the largest
// digit, no carry), 9 or 15 (a carry out of every window), all ones, powers
// of two at window edges, 2^256 − n, and halves of n.
func edgeScalars(t testing.TB) []secp256k1.ModNScalar {
	t.Helper()
	n := secp256k1.Params().N
	two := big.NewInt(2)
	var vals []*big.Int
	for _, v := range []int64{0, 1, 2, 7, 8, 9, 15, 16, 17, 0x88, 0x99, 0xff} {
		vals = append(vals, big.NewInt(v))
	}
	for _, h := range []string{"8", "9", "f", "7", "1", "0f", "f0", "80", "08", "f8", "8f"} {
		v, _ := new(big.Int).SetString(strings.Repeat(h, 64/len(h)), 16)
		vals = append(vals, v)
	}
	for _, e := range []int64{3, 4, 5, 63, 64, 127, 128, 129, 251, 252, 253, 254, 255} {
		p := new(big.Int).Exp(two, big.NewInt(e), nil)
		vals = append(vals, p, new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Add(p, big.NewInt(1)))
	}
	c := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), n) // 2^256 − n
	half := new(big.Int).Rsh(n, 1)
	vals = append(vals, c, new(big.Int).Sub(c, big.NewInt(1)), new(big.Int).Add(c, big.NewInt(1)),
		half, new(big.Int).Add(half, big.NewInt(1)),
		new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(2)), new(big.Int).Sub(n, big.NewInt(8)),
		new(big.Int).Sub(n, big.NewInt(9)), new(big.Int).Sub(n, big.NewInt(16)))
	out := make([]secp256k1.ModNScalar, 0, len(vals))
	for _, v := range vals {
		var b [32]byte
		new(big.Int).Mod(v, n).FillBytes(b[:])
		var s secp256k1.ModNScalar
		if s.SetBytes(&b) != 0 {
			t.Fatalf("%x overflows", b)
		}
		out = append(out, s)
	}
	return out
}

func randomScalar(t testing.TB) secp256k1.ModNScalar {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	var s secp256k1.ModNScalar
	s.SetBytes(&b)
	return s
}

// randomPoint is k·G for a random k, affine.
func randomPoint(t testing.TB) secp256k1.JacobianPoint {
	t.Helper()
	k := randomScalar(t)
	if k.IsZero() {
		k.SetInt(1)
	}
	var p secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&k, &p)
	p.ToAffine()
	return p
}

// samePoint compares two normalized Jacobian points (∞ included).
func samePoint(a, b *secp256k1.JacobianPoint) bool {
	aInf, bInf := a.Z.IsZero(), b.Z.IsZero()
	if aInf || bInf {
		return aInf == bInf
	}
	return a.EquivalentNonConst(b)
}

func checkTableMul(t *testing.T, q *secp256k1.JacobianPoint, table *keyTable, k *secp256k1.ModNScalar, what string) {
	t.Helper()
	var want, got secp256k1.JacobianPoint
	secp256k1.ScalarMultNonConst(k, q, &want)
	table.mul(k, q, &got)
	if !samePoint(&want, &got) {
		want.ToAffine()
		got.ToAffine()
		t.Fatalf("%s: k=%x: table gives (%v, %v), ScalarMultNonConst (%v, %v)", what, k.Bytes(), &got.X, &got.Y, &want.X, &want.Y)
	}
}

// TestKeyTableMulMatchesScalarMult: the table's k·Q is decred's
// ScalarMultNonConst for random keys × (edge scalars, random scalars).
func TestKeyTableMulMatchesScalarMult(t *testing.T) {
	keys, randoms := 12, 48
	if testing.Short() {
		keys, randoms = 3, 16
	}
	edges := edgeScalars(t)
	for i := range keys {
		q := randomPoint(t)
		if i == 0 { // G itself: its multiples are decred's own table's
			secp256k1.ScalarBaseMultNonConst(new(secp256k1.ModNScalar).SetInt(1), &q)
			q.ToAffine()
		}
		table := newKeyTable(&q)
		if table == nil {
			t.Fatal("no table for a valid point")
		}
		for _, k := range edges {
			checkTableMul(t, &q, table, &k, fmt.Sprint("key ", i, " edge"))
		}
		for range randoms {
			k := randomScalar(t)
			checkTableMul(t, &q, table, &k, fmt.Sprint("key ", i, " random"))
		}
	}
}

// TestKeyTableEntries: entry [i][d−1] is d·2^(w·i)·Q, affine, for every
// window's first and last digit.
func TestKeyTableEntries(t *testing.T) {
	q := randomPoint(t)
	table := newKeyTable(&q)
	n := secp256k1.Params().N
	for i := range tableWindows {
		for _, d := range []int{1, 2, tableDigits} {
			v := new(big.Int).Lsh(big.NewInt(int64(d)), uint(tableWindow*i))
			var b [32]byte
			v.Mod(v, n).FillBytes(b[:])
			var k secp256k1.ModNScalar
			k.SetBytes(&b)
			var want secp256k1.JacobianPoint
			secp256k1.ScalarMultNonConst(&k, &q, &want)
			want.ToAffine()
			p := &table[i][d-1]
			if !p.x.Equals(&want.X) || !p.y.Equals(&want.Y) {
				t.Fatalf("window %d digit %d: (%v, %v), want (%v, %v)", i, d, &p.x, &p.y, &want.X, &want.Y)
			}
		}
	}
}

// TestKeyTableDigits: the halves recombine to the scalar (±k1 + λ·(±k2) ≡
// k mod n), each fits the windows (no fallback), and the signed digits of
// each sum back to it, every digit in range.
func TestKeyTableDigits(t *testing.T) {
	n := secp256k1.Params().N
	lambda := new(big.Int).SetBytes(func() []byte { l := endoNegLambda; b := l.Negate().Bytes(); return b[:] }())
	cube := new(big.Int).Exp(lambda, big.NewInt(3), n)
	if cube.Cmp(big.NewInt(1)) != 0 || lambda.Cmp(big.NewInt(1)) == 0 {
		t.Fatal("λ is not a cube root of 1 mod n")
	}
	scalars := edgeScalars(t)
	for range 2000 {
		scalars = append(scalars, randomScalar(t))
	}
	value := func(s secp256k1.ModNScalar, neg bool) *big.Int {
		b := s.Bytes()
		v := new(big.Int).SetBytes(b[:])
		if neg {
			v.Neg(v)
		}
		return v
	}
	for _, k := range scalars {
		kb := k.Bytes()
		k1, k2, neg1, neg2 := splitScalar(&k)
		sum := new(big.Int).Mul(value(k2, neg2), lambda)
		sum.Add(sum, value(k1, neg1)).Mod(sum, n)
		if sum.Cmp(new(big.Int).SetBytes(kb[:])) != 0 {
			t.Fatalf("k=%x: ±k1 + λ·(±k2) = %x", kb, sum)
		}
		for _, half := range []secp256k1.ModNScalar{k1, k2} {
			hb := half.Bytes()
			digits, ok := recode(&half)
			if !ok {
				t.Fatalf("k=%x: half %x does not fit %d bits", kb, hb, halfBits)
			}
			got := new(big.Int)
			for i, d := range digits {
				if d < -(tableDigits-1) || d > tableDigits {
					t.Fatalf("half %x: digit %d out of range in window %d", hb, d, i)
				}
				got.Add(got, new(big.Int).Lsh(big.NewInt(int64(d)), uint(tableWindow*i)))
			}
			if got.Cmp(new(big.Int).SetBytes(hb[:])) != 0 {
				t.Fatalf("half %x: digits sum to %x", hb, got)
			}
		}
	}
	// A scalar too long for the windows is refused (the caller falls back).
	var long secp256k1.ModNScalar
	long.SetByteSlice(new(big.Int).Lsh(big.NewInt(1), halfBits).Bytes())
	if _, ok := recode(&long); ok {
		t.Fatal("a 2^halfBits half was accepted")
	}
	// φ(G) = λ·G: β and λ match.
	var g, lg secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(new(secp256k1.ModNScalar).SetInt(1), &g)
	g.ToAffine()
	var l secp256k1.ModNScalar
	l.SetByteSlice(lambda.Bytes())
	secp256k1.ScalarMultNonConst(&l, &g, &lg)
	lg.ToAffine()
	var bx secp256k1.FieldVal
	if !bx.Mul2(&g.X, &endoBeta).Normalize().Equals(&lg.X) || !g.Y.Equals(&lg.Y) {
		t.Fatal("φ(G) ≠ λ·G")
	}
}

// TestKeyTableSize: the size the docs and walletauth's bound state.
func TestKeyTableSize(t *testing.T) {
	if TableBytes != 33280 {
		t.Fatalf("TableBytes = %d, documented as 33,280", TableBytes)
	}
}

// TestKnownKeyWithTable: WithTable keeps the key, adds a table once, and
// leaves the key it was called on as it was.
func TestKnownKeyWithTable(t *testing.T) {
	k, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("m")
	sig, err := SignMessage(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	addr := k.Address(Mainnet)
	_, known, err := VerifyMessageKnown(msg, sig, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	tabled := known.WithTable()
	if known.HasTable() || !tabled.HasTable() || tabled.WithTable() != tabled ||
		tabled.addr != known.addr || tabled.pub != known.pub || !tabled.point.EquivalentNonConst(&known.point) {
		t.Fatal("WithTable changed the key, or its receiver")
	}
	sig2, err := SignMessage(k, []byte("m2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, next, err := VerifyMessageKnown([]byte("m2"), sig2, addr, tabled); err != nil || next != tabled {
		t.Fatalf("a tabled key was not used: %v", err)
	}
}

// FuzzKeyTableMul: for any 32 bytes (reduced mod n) the table's k·Q is
// ScalarMultNonConst's, for a fixed random key.
func FuzzKeyTableMul(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add(bytes.Repeat([]byte{0x88}, 32))
	f.Add(secp256k1.Params().N.Bytes())
	f.Add(new(big.Int).Sub(secp256k1.Params().N, big.NewInt(1)).Bytes())
	q := randomPoint(f)
	table := newKeyTable(&q)
	f.Fuzz(func(t *testing.T, b []byte) {
		var k secp256k1.ModNScalar
		var buf [32]byte
		copy(buf[:], b)
		k.SetBytes(&buf)
		checkTableMul(t, &q, table, &k, "fuzz")
	})
}
