package odata

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"phaseboard/web/redact"
)

// Error is an OData error. WriteError writes it as
// {"error":{"code","message","target","details":[]}} with Status as the HTTP
// status. Writers and hooks may return it to choose the status and message;
// any other error becomes a 500 whose text is logged, not sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []ErrorDetail
}

// ErrorDetail is one entry of an OData error's details.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func badRequest(target, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...), Target: target}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: fmt.Sprintf(format, args...)}
}

func notImplemented(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: fmt.Sprintf(format, args...)}
}

// syntaxError is a malformed query option; Pos is a byte offset into it.
type syntaxError struct {
	Pos int
	Msg string
	// unsupported marks valid OData the service does not implement (a
	// canonical function it lacks): the answer is 501, not 400.
	unsupported bool
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos, e.Msg)
}

// writeError answers with an OData error body. Only *Error and
// *syntaxError messages reach the client; anything else is logged and
// becomes a generic 500.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *Error
	var se *syntaxError
	if s.opts.MapError != nil {
		err = s.opts.MapError(err)
	}
	switch {
	case errors.As(err, &oe):
	case errors.As(err, &se) && se.unsupported:
		oe = notImplemented("%s", se.Error())
	case errors.As(err, &se):
		oe = badRequest("", "%s", se.Error())
	case errors.Is(err, context.Canceled):
		return // the client went away
	case s.dialect.inputError(err) != nil:
		oe = s.dialect.inputError(err)
		s.opts.Logger.Warn("odata: the database refused the request's input", "method", r.Method, "path", r.URL.Path, "err", err) // the query may hold a token: not logged
	case errors.Is(err, context.DeadlineExceeded):
		s.opts.Logger.Warn("odata: query timeout", "url", redact.URL(r.URL))
		oe = &Error{Status: http.StatusServiceUnavailable, Code: "Timeout", Message: "the query took too long; narrow the filter or page size"}
	default:
		s.opts.Logger.Error("odata: request failed", "method", r.Method, "url", redact.URL(r.URL), "err", err)
		oe = &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "internal server error"}
	}
	WriteError(w, oe)
}

// WriteError writes e as the OData JSON error body with e.Status: the one error writer of the
// API, used by the service and by the middleware in front of it (authentication, rate limits).
// The body is {"error":{"code","message","target","details":[...]}}; "target" is left out when
// there is none.
func WriteError(w http.ResponseWriter, e *Error) {
	b := []byte(`{"error":{"code":`)
	b = appendJSONString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	if e.Target != "" {
		b = append(b, `,"target":`...)
		b = appendJSONString(b, e.Target)
	}
	b = append(b, `,"details":[`...)
	for i, d := range e.Details {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = appendJSONString(b, d.Code)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, d.Message)
		if d.Target != "" {
			b = append(b, `,"target":`...)
			b = appendJSONString(b, d.Target)
		}
		b = append(b, '}')
	}
	b = append(b, "]}}"...)
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5") // a moment: a restarting database, a busy one
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
