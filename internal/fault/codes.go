package fault

// Code is an error's stable, machine-readable name (snake_case). It travels
// beside the public text as the body's "code"; clients branch on it, never on
// the text. Every Kind has a default code, so an error without a specific one
// still answers with a code of its class.
type Code string

// Default codes, one per Kind.
const (
	CodeInternal       Code = "internal_error"
	CodeInvalidRequest Code = "invalid_request"
	CodeUnauthorized   Code = "unauthorized"
	CodeForbidden      Code = "forbidden"
	CodeNotFound       Code = "not_found"
	CodeConflict       Code = "conflict"
	CodeTooLarge       Code = "payload_too_large"
	CodeRateLimited    Code = "rate_limited"
	CodeBadGateway     Code = "bad_gateway"
	CodeUnavailable    Code = "service_unavailable"
)

// Specific codes. Add new ones to Catalogue too (the OpenAPI document and
// the Go SDK list every one; a test holds them to it).
const (
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeInvalidJSON        Code = "invalid_json"
	CodeInvalidContentType Code = "invalid_content_type"

	// Wallet-signed messages.
	CodeMalformedSignature  Code = "malformed_signature"
	CodeInvalidSignature    Code = "invalid_signature"
	CodePublicKeyMismatch   Code = "public_key_mismatch"
	CodeMessageReplayed     Code = "message_replayed"
	CodeMessageExpired      Code = "message_expired"
	CodeMessageFromFuture   Code = "message_from_future"
	CodeWrongNetwork        Code = "wrong_network"
	CodeNetworkRequired     Code = "network_required"
	CodeDomainMismatch      Code = "domain_mismatch"
	CodeDomainRequired      Code = "domain_required"
	CodeWrongAction         Code = "wrong_action"
	CodeMessageNotJSON      Code = "message_not_json"
	CodeMessageDuplicateKey Code = "message_duplicate_key"
	CodeMessageEscapedASCII Code = "message_escaped_ascii"
	CodeMessageInvalidUTF8  Code = "message_invalid_utf8"
	CodeWalletWrongNetwork  Code = "wallet_wrong_network"
	CodeAuthRequired        Code = "auth_required"

	// API keys.
	CodeAPIKeyRequired          Code = "api_key_required"
	CodeInvalidAPIKey           Code = "invalid_api_key"
	CodeAPIKeyWrongNetwork      Code = "api_key_wrong_network"
	CodeAPIKeyInactive          Code = "api_key_inactive"
	CodeAPIKeyIPDenied          Code = "api_key_ip_denied"
	CodeAPIKeyWrongWallet       Code = "api_key_wrong_wallet"
	CodePermissionDenied        Code = "permission_denied"
	CodeAPIKeyNotFound          Code = "api_key_not_found"
	CodeAPIKeyRevoked           Code = "api_key_revoked"
	CodeAPIKeySuspended         Code = "api_key_suspended"
	CodeAPIKeyExpired           Code = "api_key_expired"
	CodeAPIKeyAlreadyRotated    Code = "api_key_already_rotated"
	CodeWalletSignatureRequired Code = "wallet_signature_required"
	CodeTooManyAPIKeys          Code = "too_many_api_keys"
	CodeAPIKeyHeadersDiffer     Code = "api_key_headers_differ"
	CodeOperatorToken           Code = "invalid_operator_token"

	// Orders.
	CodeOrderNotFound         Code = "order_not_found"
	CodeOrderNotOpen          Code = "order_not_open"
	CodeOrderNotYetValid      Code = "order_not_yet_valid"
	CodeDuplicateOrder        Code = "duplicate_order"
	CodeInvalidOrderSignature Code = "invalid_order_signature"
	CodeWalletNotOwner        Code = "wallet_not_owner"
	CodeSettlementFailed      Code = "settlement_failed"
	CodeSettlementUnknown     Code = "settlement_unknown"
	CodeTooManyStreams        Code = "too_many_streams" // order event streams per client IP
)

// KindCode is the default code of each Kind.
var KindCode = map[Kind]Code{
	KindInternal:        CodeInternal,
	KindInvalid:         CodeInvalidRequest,
	KindUnauthenticated: CodeUnauthorized,
	KindForbidden:       CodeForbidden,
	KindNotFound:        CodeNotFound,
	KindConflict:        CodeConflict,
	KindTooLarge:        CodeTooLarge,
	KindRateLimited:     CodeRateLimited,
	KindBadGateway:      CodeBadGateway,
	KindUnavailable:     CodeUnavailable,
}

// Entry describes one code: the Kind (so the HTTP status) it comes with.
type Entry struct {
	Code Code
	Kind Kind
}

// Catalogue is every code the API answers with.
var Catalogue = []Entry{
	{CodeInternal, KindInternal},
	{CodeInvalidRequest, KindInvalid},
	{CodeUnauthorized, KindUnauthenticated},
	{CodeForbidden, KindForbidden},
	{CodeNotFound, KindNotFound},
	{CodeConflict, KindConflict},
	{CodeTooLarge, KindTooLarge},
	{CodeRateLimited, KindRateLimited},
	{CodeBadGateway, KindBadGateway},
	{CodeUnavailable, KindUnavailable},
	{CodeMethodNotAllowed, KindInvalid},
	{CodeInvalidJSON, KindInvalid},
	{CodeInvalidContentType, KindInvalid},

	{CodeMalformedSignature, KindInvalid},
	{CodeInvalidSignature, KindUnauthenticated},
	{CodePublicKeyMismatch, KindUnauthenticated},
	{CodeMessageReplayed, KindUnauthenticated},
	{CodeMessageExpired, KindUnauthenticated},
	{CodeMessageFromFuture, KindUnauthenticated},
	{CodeWrongNetwork, KindUnauthenticated},
	{CodeNetworkRequired, KindUnauthenticated},
	{CodeDomainMismatch, KindUnauthenticated},
	{CodeDomainRequired, KindUnauthenticated},
	{CodeWrongAction, KindInvalid},
	{CodeMessageNotJSON, KindInvalid},
	{CodeMessageDuplicateKey, KindInvalid},
	{CodeMessageEscapedASCII, KindInvalid},
	{CodeMessageInvalidUTF8, KindInvalid},
	{CodeWalletWrongNetwork, KindInvalid},
	{CodeAuthRequired, KindUnauthenticated},

	{CodeAPIKeyRequired, KindUnauthenticated},
	{CodeInvalidAPIKey, KindUnauthenticated},
	{CodeAPIKeyWrongNetwork, KindUnauthenticated},
	{CodeAPIKeyInactive, KindUnauthenticated},
	{CodeAPIKeyIPDenied, KindForbidden},
	{CodeAPIKeyWrongWallet, KindForbidden},
	{CodePermissionDenied, KindForbidden},
	{CodeAPIKeyNotFound, KindNotFound},
	{CodeAPIKeyRevoked, KindInvalid},
	{CodeAPIKeySuspended, KindInvalid},
	{CodeAPIKeyExpired, KindInvalid},
	{CodeAPIKeyAlreadyRotated, KindConflict},
	{CodeWalletSignatureRequired, KindForbidden},
	{CodeTooManyAPIKeys, KindInvalid},
	{CodeAPIKeyHeadersDiffer, KindInvalid},
	{CodeOperatorToken, KindUnauthenticated},

	{CodeOrderNotFound, KindNotFound},
	{CodeOrderNotOpen, KindInvalid},
	{CodeOrderNotYetValid, KindInvalid},
	{CodeDuplicateOrder, KindConflict},
	{CodeInvalidOrderSignature, KindUnauthenticated},
	{CodeWalletNotOwner, KindForbidden},
	{CodeSettlementFailed, KindBadGateway},
	{CodeSettlementUnknown, KindBadGateway},
	{CodeTooManyStreams, KindRateLimited},
}

// WithCode returns a copy of e carrying code.
func (e *Error) WithCode(code Code) *Error {
	c := *e
	c.Code = code
	return &c
}

// CodeOf is e's code, or its Kind's default.
func (e *Error) CodeOf() Code {
	if e.Code != "" {
		return e.Code
	}
	return KindCode[e.Kind]
}
