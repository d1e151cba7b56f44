package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// envelopeField is one part of a signed message and where clients put it.
type envelopeField struct {
	json, header string
}

// envelopeFields are the parts in the order of envelopeOf's arguments.
var envelopeFields = [...]envelopeField{
	{"message", "X-Message"},
	{"signature", "X-Signature"},
	{"walletAddress", "X-Wallet-Address"},
	{"publicKey", "X-Public-Key"},
}

func envelopeOf(v [len(envelopeFields)]string) walletauth.Envelope {
	return walletauth.Envelope{Message: v[0], Signature: v[1], WalletAddress: v[2], PublicKey: v[3]}
}

// readEnvelope takes the signed message from the JSON body, the X-* headers,
// or both (clients in the wild send both); a part given twice must agree.
func readEnvelope(c echo.Context) (walletauth.Envelope, error) {
	body, err := readJSONObject(c)
	if err != nil {
		return walletauth.Envelope{}, err
	}
	if err := flattenSignatureObject(body); err != nil {
		return walletauth.Envelope{}, err
	}
	h := c.Request().Header
	var vals [len(envelopeFields)]string
	for i, f := range envelopeFields {
		fromHeader := h.Get(f.header)
		if !isASCII(fromHeader) {
			return walletauth.Envelope{}, fault.Invalidf(f.header, "%s must be ASCII (send non-ASCII messages in the JSON body)", f.header)
		}
		fromBody := ""
		if raw, ok := body[f.json]; ok && string(raw) != "null" {
			var s string // declared here: a header-only request (a GET) allocates nothing for it
			if err := json.Unmarshal(raw, &s); err != nil {
				return walletauth.Envelope{}, fault.Invalidf(f.json, "%s must be a string", f.json)
			}
			fromBody = s
		}
		if fromHeader != "" && fromBody != "" && fromHeader != fromBody {
			return walletauth.Envelope{}, fault.Invalidf(f.json, "%s in the body and %s header differ", f.json, f.header)
		}
		vals[i] = fromBody
		if vals[i] == "" {
			vals[i] = fromHeader
		}
	}
	return envelopeOf(vals), nil
}

// readJSONObject decodes an optional JSON object body. An empty body is nil.
func readJSONObject(c echo.Context) (map[string]json.RawMessage, error) {
	raw, err := readBody(c)
	if raw == nil || err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errNotJSONObject
	}
	return obj, nil
}

// readBody reads an optional request body; nil when there is none.
func readBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	if req.Body == nil || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return nil, nil
	}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, fault.Invalid("", "Could not read the request body").Wrap(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	return raw, nil
}

// flattenSignatureObject accepts the whole result of a wallet's signMessage
// as "signature": {"signature": "...", "publicKey": "..."} (a form the
// reference docs' samples send) by lifting its parts into the body.
func flattenSignatureObject(body map[string]json.RawMessage) error {
	raw, ok := body["signature"]
	if !ok || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil
	}
	var obj struct {
		Signature *string `json:"signature"`
		PublicKey *string `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Signature == nil {
		return fault.Invalid("signature", "signature must be a string or an object with a signature string")
	}
	body["signature"], _ = json.Marshal(*obj.Signature)
	if obj.PublicKey != nil {
		if _, given := body["publicKey"]; !given {
			body["publicKey"], _ = json.Marshal(*obj.PublicKey)
		}
	}
	return nil
}

var errNotJSONObject = fault.Invalid("", "Request body must be a JSON object").WithCode(fault.CodeInvalidJSON)

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// verifySigned reads and verifies a signed envelope for one of actions, then
// checks the wallet's budget (counted only if the request succeeds).
func (s *Server) verifySigned(c echo.Context, class RouteClass, actions ...string) (*walletauth.Message, error) {
	env, err := readEnvelope(c)
	if err != nil {
		return nil, err
	}
	return s.verifyEnvelope(c, env, class, actions...)
}

// errSignatureRequired answers an API key sent, without a signature, to a
// route only a wallet signature opens (key management): a key, read-only
// or not, never manages keys.
var errSignatureRequired = fault.Forbidden("Wallet signature required: API keys are not accepted here").WithCode(fault.CodeWalletSignatureRequired)

// verifyEnvelope is verifySigned for an envelope already read.
func (s *Server) verifyEnvelope(c echo.Context, env walletauth.Envelope, class RouteClass, actions ...string) (*walletauth.Message, error) {
	if env.Message == "" && env.Signature == "" && env.WalletAddress == "" {
		if _, present, _ := presentedKey(c); present {
			return nil, errSignatureRequired
		}
	}
	m, err := s.wallets.Verify(c.Request().Context(), env, actions...)
	if err != nil {
		return nil, err
	}
	if err := s.walletBudget(c, m.Address(), m, class); err != nil {
		return nil, err
	}
	return m, nil
}
