package stacks

import "testing"

// The benchmarks use fixed public test material, not the vector file, so
// they run anywhere.

const benchMsg = `{"action":"create_api_key","keyName":"My Trading Bot","permissions":["create","execute","cancel"],"timestamp":1700000000000}`

func benchOrder(b *testing.B) (domain, message Value) {
	b.Helper()
	d, err := NewDomain("stxgate", "1", Mainnet).Value()
	if err != nil {
		b.Fatal(err)
	}
	fields := map[string]Value{}
	for name, s := range map[string]string{
		"owner": "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R", "recipient": "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R",
		"input-token": "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token", "condition-token": "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
		"output-token": "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx",
	} {
		p, err := ParsePrincipal(s)
		if err != nil {
			b.Fatal(err)
		}
		fields[name] = PrincipalValue(p)
	}
	for name, s := range map[string]string{"target-price": "0.000123", "direction": "gt", "uuid": "550e8400-e29b-41d4-a716-446655440000"} {
		fields[name], _ = StringASCII(s)
	}
	fields["amount-in"] = UInt(1000000)
	fields["valid-from"] = UInt(1700000000)
	fields["valid-to"] = UInt(1700003600)
	m, err := Tuple(fields)
	if err != nil {
		b.Fatal(err)
	}
	return d, m
}

func BenchmarkVerifyMessage(b *testing.B) {
	k := mustKey(b, testKeyHex)
	msg := []byte(benchMsg)
	benchVerifyMessage(b, msg, must(SignMessage(k, msg)), k.Address(Mainnet))
}

// BenchmarkVerifyMessageLegacy is the slow path: current prefix fails first.
func BenchmarkVerifyMessageLegacy(b *testing.B) {
	k := mustKey(b, testKeyHex)
	msg := []byte(benchMsg)
	benchVerifyMessage(b, msg, must(SignHash(k, HashMessageWithPrefix(PrefixLegacy, msg))).String(), k.Address(Mainnet))
}

// BenchmarkVerifyMessageKnown is BenchmarkVerifyMessage with the address's
// key known from an earlier signature: no recovery.
func BenchmarkVerifyMessageKnown(b *testing.B) { benchVerifyKnown(b, false) }

// BenchmarkVerifyMessageKnownTable is BenchmarkVerifyMessageKnown with the
// key's table of multiples (KnownKey.WithTable).
func BenchmarkVerifyMessageKnownTable(b *testing.B) { benchVerifyKnown(b, true) }

// knownForBench signs benchMsg with the test key and returns the signature,
// the address and the key VerifyMessageKnown learnt from it.
func knownForBench(b *testing.B) (msg []byte, sig string, addr Address, known *KnownKey) {
	k := mustKey(b, testKeyHex)
	msg = []byte(benchMsg)
	sig, addr = must(SignMessage(k, msg)), k.Address(Mainnet)
	_, known, err := VerifyMessageKnown(msg, sig, addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	return msg, sig, addr, known
}

func benchVerifyKnown(b *testing.B, table bool) {
	msg, sig, addr, known := knownForBench(b)
	if table {
		known = known.WithTable()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := VerifyMessageKnown(msg, sig, addr, known); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKnownKeyWithTable is the cost of building a key's table.
func BenchmarkKnownKeyWithTable(b *testing.B) {
	_, _, _, known := knownForBench(b)
	b.ReportAllocs()
	for b.Loop() {
		known.WithTable()
	}
}

func benchVerifyMessage(b *testing.B, msg []byte, sig string, addr Address) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyMessage(msg, sig, addr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStructuredDataHash(b *testing.B) {
	d, m := benchOrder(b)
	b.ReportAllocs()
	for b.Loop() {
		StructuredDataHash(d, m)
	}
}

func BenchmarkVerifyStructuredData(b *testing.B) {
	d, m := benchOrder(b)
	k := mustKey(b, testKeyHex)
	sig := must(SignStructuredData(k, d, m))
	addr := k.Address(Mainnet)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyStructuredData(d, m, sig, addr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAddress(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAddress(testAddrHex); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddressString(b *testing.B) {
	a := mustAddress(b, testAddrHex)
	b.ReportAllocs()
	for b.Loop() {
		_ = a.String()
	}
}

func BenchmarkHashMessage(b *testing.B) {
	msg := []byte(benchMsg)
	b.ReportAllocs()
	for b.Loop() {
		HashMessage(msg)
	}
}

func BenchmarkSignMessage(b *testing.B) {
	k := mustKey(b, testKeyHex)
	msg := []byte(benchMsg)
	b.ReportAllocs()
	for b.Loop() {
		must(SignMessage(k, msg))
	}
}
