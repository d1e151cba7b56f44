package stacks

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePrincipal(t *testing.T) {
	const addr = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4"
	for _, tc := range []struct {
		in       string
		contract string
	}{
		{addr, ""},
		{addr + ".sbtc-token", "sbtc-token"},
		{addr + ".a", "a"},
		{addr + ".A_b-9", "A_b-9"},
		{addr + "." + "a" + strings.Repeat("b", 39), "a" + strings.Repeat("b", 39)},
	} {
		p, err := ParsePrincipal(tc.in)
		if err != nil {
			t.Errorf("ParsePrincipal(%q): %v", tc.in, err)
			continue
		}
		if p.String() != tc.in || p.ContractName != tc.contract || p.IsContract() != (tc.contract != "") || p.Address.String() != addr {
			t.Errorf("ParsePrincipal(%q) = %+v", tc.in, p)
		}
	}
	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{addr + ".", "empty contract name"},
		{addr + ".1abc", "start with a letter"},
		{addr + ".-abc", "start with a letter"},
		{addr + "._abc", "start with a letter"},
		{addr + ".ab.c", "invalid character '.'"},
		{addr + ".ab c", "invalid character ' '"},
		{addr + ".abé", "invalid character"},
		{addr + ".ab?", "invalid character '?'"},
		{addr + "." + strings.Repeat("a", 41), "41 characters"},
		{addr + ".__transient", "start with a letter"},
		{strings.ToLower(addr) + ".token", `start with "S"`},
		{".token", "empty"},
		{"SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDS.token", "checksum"},
	} {
		_, err := ParsePrincipal(tc.in)
		if !errors.Is(err, ErrMalformedPrincipal) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParsePrincipal(%q) = %v, want ErrMalformedPrincipal saying %q", tc.in, err, tc.why)
		}
	}
	// The address error stays visible through the principal error.
	if _, err := ParsePrincipal("SPX.token"); !errors.Is(err, ErrMalformedAddress) {
		t.Errorf("want ErrMalformedAddress too: %v", err)
	}
}
