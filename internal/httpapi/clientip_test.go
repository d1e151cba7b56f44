package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
)

// from sends a request as if it arrived from the peer remote ("ip:port"),
// with one X-Forwarded-For header line per xff element.
func (g *gateway) from(method, path, remote string, xff []string, headers map[string]string) response {
	g.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remote
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	return g.serve(req, headers)
}

// fromBody is from with a JSON body.
func (g *gateway) fromBody(method, path, remote, body string, headers map[string]string) response {
	g.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	return g.serve(req, headers)
}

func trustedProxies(cidrs ...string) setupOpt {
	return func(c *config.Config) {
		c.TrustedProxies = nil
		for _, s := range cidrs {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// Proxies: 172.16.0.0/30 (IPv4), 2001:db8:ffff::/64 (IPv6) and one written
// as an IPv4-mapped prefix. The key is allowed from 203.0.113.0/24,
// 2001:db8:1::/48 and (written IPv4-mapped) 198.18.0.0/24; 198.51.100.7 and
// 2001:db8:2::5 are outsiders.
func TestClientIPBehindTrustedProxies(t *testing.T) {
	g := newGateway(t, trustedProxies("172.16.0.0/30", "2001:db8:ffff::/64", "::ffff:192.168.7.0/120"))
	a := mustWallet(t, privA)
	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"fenced","permissions":["execute"],`+
		`"ipAllowlist":["203.0.113.0/24","2001:db8:1::/48","::ffff:198.18.0.0/120"],"timestamp":%d}`, ms(-time.Second))
	r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
	expect(t, r, 201, "")
	if got := mustJSON(r.json(t)["ipAllowlist"]); got != `["203.0.113.0/24","2001:db8:1::/48","198.18.0.0/24"]` {
		t.Fatalf("ipAllowlist %s: an IPv4-mapped CIDR must be stored as the IPv4 CIDR it means", got)
	}
	key := map[string]string{"X-API-Key": r.json(t)["apiKey"].(string)}
	denied := errorBody("API key not allowed from this IP address", nil)

	cases := []struct {
		name   string
		remote string
		xff    []string
		status int
	}{
		{"DirectAllowedPeer200", "203.0.113.9:5555", nil, 200},
		{"DirectDeniedPeer403", "198.51.100.7:5555", nil, 403},
		{"NonProxyPeerSpoofingXFF403", "198.51.100.7:5555", []string{"203.0.113.9"}, 403},
		{"NonProxyPeerJudgedByItsAddress200", "203.0.113.9:5555", []string{"198.51.100.7"}, 200},
		{"ProxyForwardsAllowedClient200", "172.16.0.1:80", []string{"203.0.113.9"}, 200},
		{"ProxyForwardsDeniedClient403", "172.16.0.1:80", []string{"198.51.100.7"}, 403},
		{"ProxyWithoutXFFIsTheClient403", "172.16.0.1:80", nil, 403},
		// The client wrote "203.0.113.9" itself; the proxy appended its real address.
		{"SpoofThroughProxy403", "172.16.0.1:80", []string{"203.0.113.9, 198.51.100.7"}, 403},
		{"TwoProxiesRightmostUntrustedWins200", "172.16.0.1:80", []string{"203.0.113.9, 172.16.0.2"}, 200},
		{"TwoProxiesSpoofed403", "172.16.0.1:80", []string{"203.0.113.9, 198.51.100.7, 172.16.0.2"}, 403},
		{"XFFOverTwoHeaderLines403", "172.16.0.1:80", []string{"203.0.113.9, 198.51.100.7", "172.16.0.2"}, 403},
		{"XFFOverTwoHeaderLines200", "172.16.0.1:80", []string{"198.51.100.7", "203.0.113.9"}, 200},
		{"JunkLeftOfClientIgnored200", "172.16.0.1:80", []string{"junk, 203.0.113.9"}, 200},
		{"JunkReachedFailsClosedToPeer403", "172.16.0.1:80", []string{"203.0.113.9, junk"}, 403},
		{"IPv6DirectAllowed200", "[2001:db8:1::5]:443", nil, 200},
		{"IPv6DirectDenied403", "[2001:db8:2::5]:443", nil, 403},
		{"IPv6NonProxyPeerSpoofing403", "[2001:db8:2::5]:443", []string{"2001:db8:1::9"}, 403},
		{"IPv6ProxyForwardsIPv6Client200", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::9"}, 200},
		{"IPv6ProxyBracketedEntry200", "[2001:db8:ffff::1]:443", []string{"[2001:db8:1::9]"}, 200},
		{"IPv6ProxyForwardsIPv4Client200", "[2001:db8:ffff::1]:443", []string{"203.0.113.9"}, 200},
		{"IPv6ProxyForwardsDeniedClient403", "[2001:db8:ffff::1]:443", []string{"2001:db8:2::5"}, 403},
		{"MappedPeerAllowed200", "[::ffff:203.0.113.9]:5555", nil, 200},
		{"MappedPeerDenied403", "[::ffff:198.51.100.7]:5555", nil, 403},
		{"MappedPeerIsTrustedProxy200", "[::ffff:172.16.0.1]:80", []string{"203.0.113.9"}, 200},
		{"MappedXFFEntryAllowed200", "172.16.0.1:80", []string{"::ffff:203.0.113.9"}, 200},
		{"MappedXFFEntryDenied403", "172.16.0.1:80", []string{"::ffff:198.51.100.7"}, 403},
		{"ProxyConfiguredAsMappedPrefix200", "192.168.7.7:80", []string{"203.0.113.9"}, 200},
		{"MappedAllowlistEntryMatchesIPv4200", "198.18.0.5:5555", nil, 200},
		{"MappedAllowlistEntryMatchesMappedPeer200", "[::ffff:198.18.0.5]:5555", nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.from("GET", "/api/v1/api-keys/self", tc.remote, tc.xff, key)
			want := ""
			if tc.status == 403 {
				want = denied
			}
			expect(t, r, tc.status, want)
		})
	}
}

// Without trusted proxies X-Forwarded-For is never believed, even from a
// private or loopback peer (echo's default would trust those).
func TestXFFIgnoredWithoutTrustedProxies(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"fenced","permissions":["execute"],"ipAllowlist":["203.0.113.0/24"],"timestamp":%d}`, ms(-time.Second))
	r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
	expect(t, r, 201, "")
	key := map[string]string{"X-API-Key": r.json(t)["apiKey"].(string)}
	for _, peer := range []string{"127.0.0.1:5555", "10.0.0.1:5555", "[::1]:5555", "[fe80::1]:5555"} {
		expect(t, g.from("GET", "/api/v1/api-keys/self", peer, []string{"203.0.113.9"}, key), 403,
			errorBody("API key not allowed from this IP address", nil))
	}
}

// The per-IP limits count the very client the allowlist judges: behind a
// trusted proxy the forwarded client, otherwise the peer; IPv4-mapped peers
// are their IPv4 address; IPv6 clients are counted per /64.
func TestPerIPLimitUsesTheSameClientIP(t *testing.T) {
	g := newGateway(t, trustedProxies("172.16.0.0/30"), func(c *config.Config) { c.PublicLimitMinute = 2 })
	list := func(remote string, xff ...string) response {
		return g.from("GET", "/api/v1/orders", remote, xff, nil)
	}
	step := func(name string, r response, status, remaining int) {
		t.Helper()
		if r.Status != status || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(remaining) {
			t.Fatalf("%s: %d remaining %q, want %d remaining %d; %s", name, r.Status, r.Header.Get("X-RateLimit-Remaining"), status, remaining, r.Body)
		}
	}
	const clientA, clientB, outsider = "203.0.113.9", "203.0.113.10", "198.51.100.7"
	step("A via proxy 1", list("172.16.0.1:80", clientA), 200, 1)
	step("A via other proxy", list("172.16.0.2:80", clientA), 200, 0)
	step("A via proxy 3", list("172.16.0.1:80", clientA), 429, 0)
	step("B via proxy", list("172.16.0.1:80", clientB), 200, 1)
	step("A directly", list(clientA+":5555"), 429, 0)
	step("A as a mapped peer", list("[::ffff:"+clientA+"]:5555"), 429, 0)
	step("A behind two proxies", list("172.16.0.1:80", clientA+", 172.16.0.2"), 429, 0)
	// An outsider naming A in X-Forwarded-For is counted as itself.
	step("outsider claiming A", list(outsider+":5555", clientA), 200, 1)
	step("outsider again", list(outsider+":5555"), 200, 0)
	step("proxy itself", list("172.16.0.1:80"), 200, 1)

	step("v6 host 1", list("[2001:db8:5:6::1]:443"), 200, 1)
	step("v6 host 2, same /64", list("[2001:db8:5:6::2]:443"), 200, 0)
	step("v6 host 3, same /64", list("[2001:db8:5:6:ffff::3]:443"), 429, 0)
	step("v6 other /64", list("[2001:db8:5:7::1]:443"), 200, 1)
	if strings.Contains(g.logs.String(), `"ip":"`+clientA+`"`) == false {
		t.Fatal("access log does not show the forwarded client address")
	}
}
