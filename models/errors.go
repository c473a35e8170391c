package models

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer alone maps them to statuses (board fragments, OData error bodies).
const (
	ENotFound     = "not_found"
	EInvalid      = "invalid"
	EConflict     = "conflict"
	EForbidden    = "forbidden"
	EUnauthorized = "unauthorized"
	// EUnavailable: the database cannot be reached (down, restarting, refusing connections). It is
	// never a verdict on the request: the same request may succeed in a moment.
	EUnavailable = "unavailable"
	EInternal    = "internal"
)

// Error is a domain error: a code, a message safe to show to the user, and the field it is about.
type Error struct {
	Code    string
	Field   string // the input field at fault, if any ("Phase", "Probability" ...)
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Errorf builds a domain error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an EInvalid error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error, EUnavailable for a database that cannot be
// reached, or EInternal for anything else.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if isUnavailable(err) {
		return EUnavailable
	}
	return EInternal
}

// UnavailableMessage is what a user reads while the database cannot be reached.
const UnavailableMessage = "The database is not available right now. Try again in a moment; you are still logged in."

// ErrorMessage returns the user-facing message of a domain error; internal errors get a
// generic message so that no database text reaches a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if isUnavailable(err) {
		return UnavailableMessage
	}
	return "Something went wrong on our side; nothing was changed."
}
