package reward

import (
	"errors"
	"fmt"
)

// Code names an outcome a user sees. Codes are part of the API: clients
// switch on them.
type Code string

const (
	CodeInvalidRequest    Code = "invalid_request"
	CodeInvalidCode       Code = "invalid_code"
	CodeKeyRetired        Code = "key_retired"
	CodeUnknownBatch      Code = "unknown_batch"
	CodeBatchInactive     Code = "batch_inactive"
	CodeBatchRevoked      Code = "batch_revoked"
	CodeAlreadyRedeemed   Code = "already_redeemed"
	CodeIdempotencyReused Code = "idempotency_key_reused"
	CodeNotFound          Code = "not_found"
	CodeUnavailable       Code = "unavailable"
	CodeInternal          Code = "internal"
	// CodeForbidden refuses a caller what its role may do in general but
	// not to this record (a factory and another's batch).
	CodeForbidden Code = "forbidden"
	// CodePayoutHeld refuses a scan of a factory's batch the brand has
	// not released for payout yet; the code stays unredeemed.
	CodePayoutHeld Code = "payout_held"
)

// Error is an outcome a user sees: a stable code, a message that says what
// to do, and optional details for the JSON body.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	// Err is the cause, for logs and errors.Is (store.ErrCorrupt, say);
	// it is never shown to the user.
	Err error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: empty for nil, its own if it is an
// *Error, internal otherwise.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
