package client

// ErrorCode is the stable, machine-readable name of a gateway error (the
// body's "code", APIError.Code). Branch on it, never on the error text.
type ErrorCode string

// Error codes the gateway answers with (the OpenAPI document lists them).
const (
	CodeInternal       ErrorCode = "internal_error"
	CodeInvalidRequest ErrorCode = "invalid_request"
	CodeUnauthorized   ErrorCode = "unauthorized"
	CodeForbidden      ErrorCode = "forbidden"
	CodeNotFound       ErrorCode = "not_found"
	CodeConflict       ErrorCode = "conflict"
	CodeTooLarge       ErrorCode = "payload_too_large"
	CodeRateLimited    ErrorCode = "rate_limited"
	CodeBadGateway     ErrorCode = "bad_gateway"
	CodeUnavailable    ErrorCode = "service_unavailable"

	CodeMethodNotAllowed   ErrorCode = "method_not_allowed"
	CodeInvalidJSON        ErrorCode = "invalid_json"
	CodeInvalidContentType ErrorCode = "invalid_content_type"

	// Wallet-signed messages.
	CodeMalformedSignature  ErrorCode = "malformed_signature"
	CodeInvalidSignature    ErrorCode = "invalid_signature"
	CodePublicKeyMismatch   ErrorCode = "public_key_mismatch"
	CodeMessageReplayed     ErrorCode = "message_replayed"
	CodeMessageExpired      ErrorCode = "message_expired"
	CodeMessageFromFuture   ErrorCode = "message_from_future"
	CodeWrongNetwork        ErrorCode = "wrong_network"
	CodeNetworkRequired     ErrorCode = "network_required"
	CodeDomainMismatch      ErrorCode = "domain_mismatch"
	CodeDomainRequired      ErrorCode = "domain_required"
	CodeWrongAction         ErrorCode = "wrong_action"
	CodeMessageNotJSON      ErrorCode = "message_not_json"
	CodeMessageDuplicateKey ErrorCode = "message_duplicate_key"
	CodeMessageEscapedASCII ErrorCode = "message_escaped_ascii"
	CodeMessageInvalidUTF8  ErrorCode = "message_invalid_utf8"
	CodeWalletWrongNetwork  ErrorCode = "wallet_wrong_network"
	CodeAuthRequired        ErrorCode = "auth_required"

	// API keys.
	CodeAPIKeyRequired          ErrorCode = "api_key_required"
	CodeInvalidAPIKey           ErrorCode = "invalid_api_key"
	CodeAPIKeyWrongNetwork      ErrorCode = "api_key_wrong_network"
	CodeAPIKeyInactive          ErrorCode = "api_key_inactive"
	CodeAPIKeyIPDenied          ErrorCode = "api_key_ip_denied"
	CodeAPIKeyWrongWallet       ErrorCode = "api_key_wrong_wallet"
	CodePermissionDenied        ErrorCode = "permission_denied"
	CodeAPIKeyNotFound          ErrorCode = "api_key_not_found"
	CodeAPIKeyRevoked           ErrorCode = "api_key_revoked"
	CodeAPIKeySuspended         ErrorCode = "api_key_suspended"
	CodeAPIKeyExpired           ErrorCode = "api_key_expired"
	CodeAPIKeyAlreadyRotated    ErrorCode = "api_key_already_rotated" // details.rotatedTo names the successor
	CodeWalletSignatureRequired ErrorCode = "wallet_signature_required"
	CodeTooManyAPIKeys          ErrorCode = "too_many_api_keys"
	CodeAPIKeyHeadersDiffer     ErrorCode = "api_key_headers_differ"
	CodeOperatorToken           ErrorCode = "invalid_operator_token"

	// Orders.
	CodeOrderNotFound         ErrorCode = "order_not_found"
	CodeOrderNotOpen          ErrorCode = "order_not_open"
	CodeOrderNotYetValid      ErrorCode = "order_not_yet_valid"
	CodeDuplicateOrder        ErrorCode = "duplicate_order"
	CodeInvalidOrderSignature ErrorCode = "invalid_order_signature"
	CodeWalletNotOwner        ErrorCode = "wallet_not_owner"
	CodeSettlementFailed      ErrorCode = "settlement_failed"
	CodeSettlementUnknown     ErrorCode = "settlement_unknown"
	CodeTooManyStreams        ErrorCode = "too_many_streams" // order event streams per client IP
)

// ErrorCodes lists every code above.
var ErrorCodes = []ErrorCode{
	CodeInternal, CodeInvalidRequest, CodeUnauthorized, CodeForbidden, CodeNotFound, CodeConflict, CodeTooLarge,
	CodeRateLimited, CodeBadGateway, CodeUnavailable, CodeMethodNotAllowed, CodeInvalidJSON, CodeInvalidContentType,
	CodeMalformedSignature, CodeInvalidSignature, CodePublicKeyMismatch, CodeMessageReplayed, CodeMessageExpired,
	CodeMessageFromFuture, CodeWrongNetwork, CodeNetworkRequired, CodeDomainMismatch, CodeDomainRequired,
	CodeWrongAction, CodeMessageNotJSON, CodeMessageDuplicateKey, CodeMessageEscapedASCII, CodeMessageInvalidUTF8,
	CodeWalletWrongNetwork, CodeAuthRequired,
	CodeAPIKeyRequired, CodeInvalidAPIKey, CodeAPIKeyWrongNetwork, CodeAPIKeyInactive, CodeAPIKeyIPDenied,
	CodeAPIKeyWrongWallet, CodePermissionDenied, CodeAPIKeyNotFound, CodeAPIKeyRevoked, CodeAPIKeySuspended,
	CodeAPIKeyExpired, CodeAPIKeyAlreadyRotated, CodeWalletSignatureRequired, CodeTooManyAPIKeys,
	CodeAPIKeyHeadersDiffer, CodeOperatorToken,
	CodeOrderNotFound, CodeOrderNotOpen, CodeOrderNotYetValid, CodeDuplicateOrder, CodeInvalidOrderSignature,
	CodeWalletNotOwner, CodeSettlementFailed, CodeSettlementUnknown, CodeTooManyStreams,
}
