package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stxgate/stxgate/internal/strictjson"
)

func TestCheckObject(t *testing.T) {
	ok := []string{
		`{}`,
		` {"action":"list_api_keys","timestamp":1795867200000} `,
		`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`, // equal keys in different objects
		`{"name":"caf\u00e9","snow":"\u2603","emoji":"\ud83d\ude00","raw":"é"}`,
		`{"q":"\"\\\/\b\f\n\r\t","ctl":"\u0000\u001f\u007f"}`,
		`{"n":[0,-0,1.5,-2e10,3E+2,4e-3,true,false,null,""]}`,
		"{\t\"a\"\r\n:\n1}",
	}
	for _, s := range ok {
		if err := strictjson.CheckObject([]byte(s)); err != nil {
			t.Errorf("%s: refused: %v", s, err)
		}
	}
	bad := []struct {
		in     string
		reason strictjson.Reason
		offset int
		key    string
		path   string
	}{
		{`{"action":"list_api_keys","action":"create_api_key"}`, strictjson.DuplicateKey, 26, "action", "$"},
		{`{"p":["a"],"x":{"k":1,"k":2}}`, strictjson.DuplicateKey, 22, "k", "$.x"},
		{`{"a":[{"z":1,"z":1}]}`, strictjson.DuplicateKey, 13, "z", "$.a[0]"},
		{`{"caf\u00e9":1,"café":2}`, strictjson.DuplicateKey, 15, "café", "$"},
		{`{"action":"\u0063reate_api_key"}`, strictjson.EscapedASCII, 11, "", ""},
		{`{"\u0061ction":1}`, strictjson.EscapedASCII, 2, "", ""},
		{`{"a":"\u0020"}`, strictjson.EscapedASCII, 6, "", ""},
		{`{"a":"\u007E"}`, strictjson.EscapedASCII, 6, "", ""},
		{`{"a":"\ud83d"}`, strictjson.InvalidUTF8, 6, "", ""},
		{`{"a":"\ude00\ud83d"}`, strictjson.InvalidUTF8, 6, "", ""},
		{`{"a":"\ud83d\u0041"}`, strictjson.InvalidUTF8, 6, "", ""},
		{"{\"a\":\"\xff\"}", strictjson.InvalidUTF8, 6, "", ""},
		{"{\"a\":\"\xc3\"}", strictjson.InvalidUTF8, 6, "", ""},
		{`{"a":1} {}`, strictjson.TrailingData, 8, "", ""},
		{`{"a":1}x`, strictjson.TrailingData, 7, "", ""},
		{`[{"a":1}]`, strictjson.Syntax, 0, "", ""},
		{`"x"`, strictjson.Syntax, 0, "", ""},
		{``, strictjson.Syntax, 0, "", ""},
		{`{"a":1,}`, strictjson.Syntax, 7, "", ""},
		{`{"a":01}`, strictjson.Syntax, 6, "", ""},
		{`{"a":1.}`, strictjson.Syntax, 7, "", ""},
		{`{"a":-}`, strictjson.Syntax, 6, "", ""},
		{`{"a":tru}`, strictjson.Syntax, 5, "", ""},
		{`{"a":"\x"}`, strictjson.Syntax, 6, "", ""},
		{`{"a":"\u12"}`, strictjson.Syntax, 6, "", ""},
		{"{\"a\":\"\n\"}", strictjson.Syntax, 6, "", ""},
		{`{a:1}`, strictjson.Syntax, 1, "", ""},
		{`{"a" 1}`, strictjson.Syntax, 5, "", ""},
		{`{"a":1`, strictjson.Syntax, 6, "", ""},
		{strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), strictjson.TooDeep, 32 * 5, "", ""},
	}
	for _, c := range bad {
		err := strictjson.CheckObject([]byte(c.in))
		want := &strictjson.Error{Reason: c.reason, Offset: c.offset, Key: c.key, Path: c.path}
		if err == nil || *err != *want {
			t.Errorf("%q: got %#v, want %#v", c.in, err, want)
		}
	}
	// 32 levels are fine.
	deep := strings.Repeat(`{"a":`, 31) + `[1]` + strings.Repeat("}", 31)
	if err := strictjson.CheckObject([]byte(deep)); err != nil {
		t.Errorf("32 levels refused: %v", err)
	}
}

// FuzzCheckObject holds CheckObject to encoding/json: what it accepts is
// valid JSON, valid UTF-8, an object, free of duplicate keys at every depth
// (as a token-by-token reader that unescapes keys sees them); a valid JSON
// object without any \u escape and without duplicates is accepted; and a
// text encoding/json accepts is never refused as a syntax error.
func FuzzCheckObject(f *testing.F) {
	for _, s := range []string{
		`{"action":"create_api_key","keyName":"bot","permissions":["create"],"timestamp":1795867200000}`,
		`{"action":"list_api_keys","action":"create_api_key"}`,
		`{"p":["execute"],"p":["create"]}`,
		`{"action":"\u0063reate_api_key"}`,
		`{"a":"\ud83d\ude00","b":{"c":[1,2,{"d":null}]}}`,
		`{"a":1} {}`,
		"{\"a\":\"\xff\"}",
		`{"a":-0.5e+3,"b":true,"c":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := strictjson.CheckObject(b)
		valid := json.Valid(b)
		object := len(bytes.TrimLeft(b, " \t\r\n")) > 0 && bytes.TrimLeft(b, " \t\r\n")[0] == '{'
		dup, depth := duplicates(b)
		if err == nil {
			if !valid || !object || !utf8.Valid(b) || dup || depth > strictjson.MaxDepth {
				t.Fatalf("accepted %q (valid %v, object %v, utf8 %v, dup %v, depth %d)", b, valid, object, utf8.Valid(b), dup, depth)
			}
			return
		}
		if valid && object && err.Reason == strictjson.Syntax {
			t.Fatalf("valid JSON object %q refused as a syntax error: %v", b, err)
		}
		if valid && object && utf8.Valid(b) && !bytes.Contains(b, []byte(`\u`)) && !dup && depth <= strictjson.MaxDepth {
			t.Fatalf("refused %q: %v", b, err)
		}
		if err.Reason == strictjson.DuplicateKey && valid && !dup {
			t.Fatalf("duplicate %q reported in %q, the reference reader sees none", err.Key, b)
		}
	})
}

// duplicates is the reference: encoding/json's token reader (which
// unescapes keys) with a set of keys per open object. It reports whether a
// valid text repeats a key in one object, and the deepest nesting.
func duplicates(b []byte) (dup bool, maxDepth int) {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // next string token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return dup, maxDepth
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					dup = true
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, object: true, expect: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		maxDepth = max(maxDepth, len(stack))
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.object && tok != json.Delim('{') {
				f.expect = true
			}
		}
	}
}

// BenchmarkCheckObject checks a signed key-creation message, the shape every
// wallet-signed request carries.
func BenchmarkCheckObject(b *testing.B) {
	msg := []byte(`{"action":"create_api_key","keyName":"bot","permissions":["create","execute","cancel"],` +
		`"ipAllowlist":["192.0.2.0/24","2001:db8::/32"],"expiresAt":"2027-01-01T00:00:00Z",` +
		`"network":"mainnet","domain":"stxgate.example","walletAddress":"SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7",` +
		`"timestamp":1795867200000,"nested":{"a":[{"b":1},{"c":[true,false,null]}]}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := strictjson.CheckObject(msg); err != nil {
			b.Fatal(err)
		}
	}
}
