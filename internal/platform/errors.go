// Package platform holds Tollgate's domain: organizations, users, roles, API
// groups, API keys, admin tokens and audit events, the closed set of error
// kinds, and the permission table. It imports no SQL, HTTP or Redis code, so
// every adapter (store, HTTP API, CLI) speaks the same language.
package platform

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error so the edges can map it to a status code without
// knowing where it came from.
type Kind string

// The closed set of error kinds. The HTTP edge maps each to one status.
const (
	KindInvalid         Kind = "invalid"
	KindUnauthenticated Kind = "unauthenticated"
	KindForbidden       Kind = "forbidden"
	KindNotFound        Kind = "not_found"
	KindConflict        Kind = "conflict"
	KindRateLimited     Kind = "rate_limited"
	KindPaymentRequired Kind = "payment_required"
	KindTooLarge        Kind = "too_large"
	KindUnavailable     Kind = "unavailable"
	KindUpstream        Kind = "upstream" // an LLM upstream failed
	KindInternal        Kind = "internal"
)

// Error is a domain error whose Message is safe to show to a client. Err, when
// set, carries the internal cause and is only ever logged.
type Error struct {
	Kind    Kind
	Message string
	// Param names the request field at fault, when there is one.
	Param string
	// RetryAfter, when set, tells the client when to try again.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value for the named request field.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Sentinel errors that stores and services return (wrapped) so callers can
// test with errors.Is.
var (
	ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}
	ErrConflict = &Error{Kind: KindConflict, Message: "already exists"}
)

// ErrorKind returns the kind of err, or KindInternal for errors that carry
// none (which the edges must never describe to a client).
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the client-safe message of err. Errors without a kind
// get a generic message so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e.Message
	}
	return "internal error; the server logged the details with the request id"
}

// ErrorRetryAfter returns the retry hint of err, if any.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorParam returns the request field at fault, if any.
func ErrorParam(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}
