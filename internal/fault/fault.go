// Package fault carries an error's two messages: the public one a client sees
// (exact texts from DESIGN.md) and the internal cause that only reaches the log.
// Domain packages return *Error; the HTTP layer maps Kind to a status in one place.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the client. It maps 1:1 to an HTTP status.
type Kind int

const (
	KindInternal        Kind = iota // 500, never with a cause in the body
	KindInvalid                     // 400 malformed input
	KindUnauthenticated             // 401
	KindForbidden                   // 403
	KindNotFound                    // 404
	KindConflict                    // 409
	KindTooLarge                    // 413
	KindRateLimited                 // 429
	KindBadGateway                  // 502 settlement failed upstream
	KindUnavailable                 // 503 a backing store is unreachable
)

// Error is a domain error with a public message.
type Error struct {
	Kind    Kind
	Code    Code           // stable machine-readable name; "" means the Kind's default
	Public  string         // shown to the client verbatim
	Details map[string]any // optional, shown to the client
	Err     error          // internal cause, logged only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Public, e.Err)
	}
	return e.Public
}

func (e *Error) Unwrap() error { return e.Err }

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(d map[string]any) *Error {
	c := *e
	c.Details = d
	return &c
}

// Wrap returns a copy of e with cause as its internal error.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// New builds an Error of kind with a public text.
func New(kind Kind, public string) *Error { return &Error{Kind: kind, Public: public} }

// Invalid is a 400 naming the offending field in details.
func Invalid(field, public string) *Error {
	e := &Error{Kind: KindInvalid, Public: public}
	if field != "" {
		e.Details = map[string]any{"field": field}
	}
	return e
}

// Invalidf is Invalid with a formatted message.
func Invalidf(field, format string, args ...any) *Error {
	return Invalid(field, fmt.Sprintf(format, args...))
}

// Unauthenticated is a 401.
func Unauthenticated(public string) *Error { return New(KindUnauthenticated, public) }

// Forbidden is a 403.
func Forbidden(public string) *Error { return New(KindForbidden, public) }

// NotFound is a 404.
func NotFound(public string) *Error { return New(KindNotFound, public) }

// Conflict is a 409.
func Conflict(public string) *Error { return New(KindConflict, public) }

// Unavailable is a 503; cause names the store for the log.
func Unavailable(public string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Public: public, Err: cause}
}

// As extracts an *Error from err's chain.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}

// ErrUnavailable marks a store error caused by an unreachable backend
// (connection refused, timeout, pool closed). Stores wrap their driver errors
// with it so that callers answer 503 instead of 500.
var ErrUnavailable = errors.New("backing store unavailable")

// IsUnavailable reports whether err was caused by an unreachable backend.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
