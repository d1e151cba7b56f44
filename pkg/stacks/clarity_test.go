package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
)

// clarityVectorValue builds each clarity_serialization.values entry.
func clarityVectorValue(t *testing.T, tc vecClarity) Value {
	t.Helper()
	must := func(v Value, err error) Value {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", tc.ID, err)
		}
		return v
	}
	switch tc.Type {
	case "uint":
		return must(UIntFromString(tc.Value))
	case "int":
		return must(IntFromString(tc.Value))
	case "bool":
		return Bool(tc.Value == "true")
	case "buff":
		return Buffer(mustHex(t, tc.Value))
	case "string-ascii":
		return must(StringASCII(tc.Value))
	case "string-utf8":
		return must(StringUTF8(tc.Value))
	case "principal":
		p, err := ParsePrincipal(tc.Value)
		if err != nil {
			t.Fatalf("%s: %v", tc.ID, err)
		}
		return PrincipalValue(p)
	}
	switch tc.ID {
	case "none":
		return None()
	case "some-u1":
		return Some(UInt(1))
	case "ok-u1":
		return Ok(UInt(1))
	case "err-u1":
		return Err(UInt(1))
	case "list-uints":
		return List(UInt(1), UInt(2))
	case "tuple-nested":
		inner := must(Tuple(map[string]Value{"y": must(StringASCII("x")), "z": Int(-5)}))
		return must(Tuple(map[string]Value{"a": inner, "b": Bool(true)}))
	}
	t.Fatalf("no constructor for clarity vector %q (%s)", tc.ID, tc.Type)
	return nil
}

func TestClarityValueVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "clarity_serialization.values", "clarity_values", len(v.Clarity.Values), 26)
	for _, tc := range v.Clarity.Values {
		t.Run(tc.ID, func(t *testing.T) {
			val := clarityVectorValue(t, tc)
			ser := Serialize(val)
			if hex.EncodeToString(ser) != tc.SerializedHex {
				t.Fatalf("Serialize = %x, want %s", ser, tc.SerializedHex)
			}
			if h := sha256.Sum256(ser); hex.EncodeToString(h[:]) != tc.SHA256Hex {
				t.Errorf("sha256 = %x, want %s", h, tc.SHA256Hex)
			}
			if got := val.AppendSerialized([]byte{0xee}); hex.EncodeToString(got) != "ee"+tc.SerializedHex {
				t.Errorf("AppendSerialized must append")
			}
		})
	}
}

func TestTupleKeyOrderVectors(t *testing.T) {
	v := loadVectors(t)
	o := v.Clarity.TupleKeyOrder
	fields := map[string]Value{}
	for i, k := range o.DemoKeys {
		fields[k] = UInt(uint64(i))
	}
	tuple, err := Tuple(fields)
	if err != nil {
		t.Fatal(err)
	}
	serialise := func(order []string) string {
		b := appendLen([]byte{typeTuple}, len(order))
		for _, k := range order {
			b = append(append(b, byte(len(k))), k...)
			b = UInt(uint64(slices.Index(o.DemoKeys, k))).AppendSerialized(b)
		}
		return hex.EncodeToString(b)
	}
	sorted := slices.Clone(o.DemoKeys)
	slices.Sort(sorted)
	if !slices.Equal(sorted, o.ByteOrder) {
		t.Fatalf("Go byte order %v, vectors say %v", sorted, o.ByteOrder)
	}
	if got := hex.EncodeToString(Serialize(tuple)); got != serialise(o.ByteOrder) {
		t.Errorf("tuple not in byte order: %s", got)
	}
	// Documented divergence: stacks.js (localeCompare) orders these keys differently.
	if serialise(o.LocaleOrder) != o.StacksJSHex {
		t.Errorf("stacks.js serialisation is not the locale order we think it is")
	}
	if hex.EncodeToString(Serialize(tuple)) == o.StacksJSHex {
		t.Errorf("expected byte order to differ from stacks.js for mixed-case / '_' keys")
	}
	// For the gateway's keys ([a-z-]) both orders agree.
	if !o.GatewayKeysOkay {
		t.Errorf("vectors say gateway keys disagree")
	}
}

func TestUIntFromString(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for _, s := range []string{"0", "1", "007", "18446744073709551615", "18446744073709551616", max.String()} {
		v, err := UIntFromString(s)
		if err != nil {
			t.Errorf("UIntFromString(%q): %v", s, err)
			continue
		}
		want, _ := new(big.Int).SetString(s, 10)
		if got := Serialize(v); hex.EncodeToString(got) != "01"+hex.EncodeToString(want.FillBytes(make([]byte, 16))) {
			t.Errorf("UIntFromString(%q) = %x", s, got)
		}
	}
	over := new(big.Int).Add(max, big.NewInt(1)).String()
	for _, s := range []string{"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "١", over, over + "0", strings.Repeat("9", 40)} {
		if _, err := UIntFromString(s); !errors.Is(err, ErrClarityValue) {
			t.Errorf("UIntFromString(%q) = %v, want ErrClarityValue", s, err)
		}
	}
	if hex.EncodeToString(Serialize(UInt(1<<64-1))) != "01"+"0000000000000000ffffffffffffffff" {
		t.Error("UInt(max uint64)")
	}
}

func TestIntFromString(t *testing.T) {
	lim := new(big.Int).Lsh(big.NewInt(1), 127)
	minS := new(big.Int).Neg(lim).String()
	maxS := new(big.Int).Sub(lim, big.NewInt(1)).String()
	for _, s := range []string{"0", "-0", "1", "-1", "-5", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "-18446744073709551616", minS, maxS} {
		v, err := IntFromString(s)
		if err != nil {
			t.Errorf("IntFromString(%q): %v", s, err)
			continue
		}
		want, _ := new(big.Int).SetString(s, 10)
		if want.Sign() < 0 { // two's complement in 128 bits
			want.Add(want, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		if got := Serialize(v); hex.EncodeToString(got) != "00"+hex.EncodeToString(want.FillBytes(make([]byte, 16))) {
			t.Errorf("IntFromString(%q) = %x", s, got)
		}
	}
	for _, s := range []string{"", "-", "+1", "--1", "1-", lim.String(), "-" + new(big.Int).Add(lim, big.NewInt(1)).String()} {
		if _, err := IntFromString(s); !errors.Is(err, ErrClarityValue) {
			t.Errorf("IntFromString(%q) = %v, want ErrClarityValue", s, err)
		}
	}
	for _, n := range []int64{0, 1, -1, -5, 1<<63 - 1, -1 << 63} {
		want, _ := IntFromString(big.NewInt(n).String())
		if hex.EncodeToString(Serialize(Int(n))) != hex.EncodeToString(Serialize(want)) {
			t.Errorf("Int(%d)", n)
		}
	}
}

func TestStrings(t *testing.T) {
	ok := "Hello, World! ~{}[]|\\`^_@?>=<;:/.-,+*)('&%$#\"\t\n\f\r 0123456789"
	if _, err := StringASCII(ok); err != nil {
		t.Errorf("StringASCII(printable): %v", err)
	}
	for _, bad := range []string{"\x00", "\x7f", "\v", "\x1b", "é", "\x80", "a\x01b"} {
		if _, err := StringASCII(bad); !errors.Is(err, ErrClarityValue) {
			t.Errorf("StringASCII(%q) = %v", bad, err)
		}
	}
	if _, err := StringASCII(strings.Repeat("a", maxValueSize+1)); !errors.Is(err, ErrClarityValue) {
		t.Error("oversized string-ascii accepted")
	}
	if v, err := StringUTF8("é🚀"); err != nil || hex.EncodeToString(Serialize(v)) != "0e00000006c3a9f09f9a80" {
		t.Errorf("StringUTF8: %v", err)
	}
	for _, bad := range []string{"\xff", "\xed\xa0\x80" /* surrogate */, "a\xc3"} {
		if _, err := StringUTF8(bad); !errors.Is(err, ErrClarityValue) {
			t.Errorf("StringUTF8(%q) = %v", bad, err)
		}
	}
}

func TestTupleErrorsAndNil(t *testing.T) {
	for _, fields := range []map[string]Value{
		nil,
		{},
		{"": UInt(1)},
		{"1a": UInt(1)},
		{"a b": UInt(1)},
		{"a.b": UInt(1)},
		{"_a": UInt(1)},
		{strings.Repeat("a", 129): UInt(1)},
		{"ok": UInt(1), "é": UInt(2)},
	} {
		if _, err := Tuple(fields); !errors.Is(err, ErrClarityValue) {
			t.Errorf("Tuple(%v) = %v, want ErrClarityValue", fields, err)
		}
	}
	for _, name := range []string{"a", "A", "a-b_c!?+<>=/*9", "-", "+", "=", "/", "*", "<", ">", "<=", ">=", strings.Repeat("a", 128)} {
		if _, err := Tuple(map[string]Value{name: UInt(1)}); err != nil {
			t.Errorf("Tuple key %q: %v", name, err)
		}
	}
	// nil is none wherever a Value goes: no panics.
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{nil, "09"},
		{Some(nil), "09"},
		{Some(None()), "0a09"},
		{Ok(nil), "0709"},
		{Err(nil), "0809"},
		{List(), "0b00000000"},
		{List(nil, UInt(0)), "0b000000020901" + strings.Repeat("00", 16)},
		{Buffer(nil), "0200000000"},
	} {
		if got := hex.EncodeToString(Serialize(tc.v)); got != tc.want {
			t.Errorf("Serialize = %s, want %s", got, tc.want)
		}
	}
	tv, _ := Tuple(map[string]Value{"k": nil})
	if hex.EncodeToString(Serialize(tv)) != "0c00000001016b09" {
		t.Error("tuple with nil value")
	}
}

func TestValuesDoNotAlias(t *testing.T) {
	b := []byte{1, 2}
	buf := Buffer(b)
	b[0] = 9
	vs := []Value{UInt(1)}
	list := List(vs...)
	vs[0] = UInt(2)
	if hex.EncodeToString(Serialize(buf)) != "02000000020102" || Serialize(list)[21] != 1 {
		t.Error("constructors must copy their input")
	}
}
