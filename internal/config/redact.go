package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Masked stands for every hidden secret.
const Masked = "xxxxx"

// Show is the one rule by which a setting's value appears in help, logs and
// errors: a secret setting (the operator token) shows as Masked, any other
// value through Redact.
func (v Var) Show(value string) string {
	switch {
	case value == "":
		return ""
	case v.Secret:
		return Masked
	}
	return Redact(value)
}

var (
	// userinfo is a URL's "user:password@": everything from "://" to the
	// last "@" before white space or a quote (a raw "@" or "/" in a password
	// stays inside the mask).
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^\s"'<>]*@`)
	// secretParam is a key=value pair named like a password, token or
	// secret: URL queries (?password=…) and key/value DSNs (password=… host=…).
	secretParam = regexp.MustCompile(`\b([a-z_]*(?:pass|pwd|token|secret)[a-z_]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s"']+)`)
)

// Redact hides the secrets inside a text: the userinfo of every URL (user
// and password) and the value of every parameter named like a password,
// token or secret.
func Redact(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "=") {
		return s
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Masked+"@")
	return secretParam.ReplaceAllString(s, "${1}${2}"+Masked)
}

// minScrubbed: shorter secret fragments are not searched for in free text,
// where they would mask ordinary words; Redact still hides them in URLs.
const minScrubbed = 4

// secrets are the secret fragments of c's settings: the operator token, the
// passwords of its URLs (raw and decoded) and of key/value DSNs.
func (c Config) secrets() []string {
	var out []string
	add := func(s string) {
		if len(s) >= minScrubbed {
			out = append(out, s)
		}
	}
	add(c.OperatorToken)
	for _, k := range c.ExecutorKeys {
		add(k)
	}
	for _, u := range []string{c.DatabaseURL, c.DatabaseReadURL, c.RedisURL, c.RelayerURL, c.StacksNodeURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err == nil && p.User != nil {
			pw, _ := p.User.Password()
			add(pw)
			add(url.PathEscape(pw))
			add(url.QueryEscape(pw))
			if pw == "" { // scheme://secret@host: the user part is the secret
				add(p.User.Username())
			}
		}
		for _, m := range secretParam.FindAllStringSubmatch(u, -1) {
			add(strings.Trim(m[3], "'"))
		}
	}
	return out
}

// Scrub hides c's secrets in a text from elsewhere (a driver's error, a log
// line): every secret fragment of its settings, then Redact.
func (c Config) Scrub(s string) string {
	for _, secret := range c.secrets() {
		s = strings.ReplaceAll(s, secret, Masked)
	}
	return Redact(s)
}

// String prints the configuration with secrets hidden, for the start-up log.
func (c Config) String() string {
	return c.Scrub(fmt.Sprintf("listen=%s metrics=%s network=%s database=%s redis=%s relayer=%s migrate=%t limits=%d/%d/%d operator_api=%t",
		c.Listen, orNone(c.MetricsListen, "off"), c.Network, orNone(c.DatabaseURL, "memory"), orNone(c.RedisURL, "memory"),
		orNone(c.RelayerURL, "simulated"), c.Migrate, c.RateLimitMinute, c.RateLimitHour, c.RateLimitDay, c.OperatorToken != ""))
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
