package web

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// Errors map to responses in one place: statusOf is the one table from domain error codes to
// HTTP statuses, and each representation has one writer that uses it — the board's text or
// fragment answers (errorHandler), the OData JSON error body (ODataError, written by the odata
// package) and the OAuth error body (handlers' oauthError). The same invalid input is the same
// status on the board and through the API.
var statusOf = map[string]int{
	models.ENotFound:     http.StatusNotFound,
	models.EInvalid:      http.StatusBadRequest,
	models.EConflict:     http.StatusConflict,
	models.EForbidden:    http.StatusForbidden,
	models.EUnauthorized: http.StatusUnauthorized,
	models.EUnavailable:  http.StatusServiceUnavailable,
}

// StatusOf is the HTTP status of an error: a domain error's from the table, a Fiber error's
// own, 500 for anything else.
func StatusOf(err error) int {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	if s, ok := statusOf[models.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ODataError turns a domain error into the OData error the service writes, with its message and
// its field as target, and a database that cannot be reached into a 503. Anything else passes
// unchanged (a logged 500, no detail to the client).
func ODataError(err error) error {
	var oe *odata.Error
	if err == nil || errors.As(err, &oe) {
		return err
	}
	var de *models.Error
	if !errors.As(err, &de) {
		if models.ErrorCode(err) == models.EUnavailable {
			return &odata.Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: models.ErrorMessage(err)}
		}
		return err
	}
	status, ok := statusOf[de.Code]
	if !ok {
		return err
	}
	return &odata.Error{Status: status, Code: odataCode(status), Message: de.Message, Target: de.Field}
}

// odataCode is the error code of an OData error body: the status text without spaces
// ("BadRequest", "NotFound" …).
func odataCode(status int) string {
	b := []byte(http.StatusText(status))
	out := b[:0]
	for _, c := range b {
		if c != ' ' && c != '-' {
			out = append(out, c)
		}
	}
	return string(out)
}
