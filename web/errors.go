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
// package) and the OAuth2 error body (OAuthError, with its own table oauthStatus: RFC 6749 fixes
// those statuses). The same invalid input is the same status on the board and through the API.
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

// oauthStatus is the status of an OAuth2 error body (RFC 6749 §5.2): 400, except a client that
// failed to authenticate (401) and a database that cannot be reached (503).
var oauthStatus = map[string]int{
	models.OAuthInvalidClient:          http.StatusUnauthorized,
	models.OAuthTemporarilyUnavailable: http.StatusServiceUnavailable,
}

// OAuthRefusal is err as an OAuth2 refusal and its status: a models.OAuthError as it is, a
// domain error in OAuth2's terms (a bad scope is invalid_scope, other bad input
// invalid_request, a failed client authentication invalid_client), an unreachable database
// temporarily_unavailable. Anything else is no refusal (nil): a logged 500.
func OAuthRefusal(err error) (*models.OAuthError, int) {
	var oe *models.OAuthError
	if errors.As(err, &oe) {
		if s, ok := oauthStatus[oe.Code]; ok {
			return oe, s
		}
		return oe, http.StatusBadRequest
	}
	var de *models.Error
	switch code := models.ErrorCode(err); {
	case code == models.EInvalid && errors.As(err, &de) && de.Field == "scope":
		return &models.OAuthError{Code: models.OAuthInvalidScope, Description: de.Message}, http.StatusBadRequest
	case code == models.EInvalid:
		return &models.OAuthError{Code: models.OAuthInvalidRequest, Description: models.ErrorMessage(err)}, http.StatusBadRequest
	case code == models.EUnauthorized:
		return &models.OAuthError{Code: models.OAuthInvalidClient, Description: models.ErrorMessage(err)}, http.StatusUnauthorized
	case code == models.EUnavailable:
		return &models.OAuthError{Code: models.OAuthTemporarilyUnavailable, Description: models.ErrorMessage(err)}, http.StatusServiceUnavailable
	}
	return nil, 0
}

// OAuthError answers an OAuth2 endpoint's failure with RFC 6749's error body (§5.2), the one
// writer of it; an error that is no refusal goes on to the error handler.
func OAuthError(c *fiber.Ctx, err error) error {
	e, status := OAuthRefusal(err)
	if e == nil {
		return err
	}
	return WriteOAuthError(c, status, e)
}

// WriteOAuthError writes an OAuth2 error body with a status of the caller's choice (429 for a
// rate limit, which RFC 6749 leaves open).
func WriteOAuthError(c *fiber.Ctx, status int, e *models.OAuthError) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if status == http.StatusServiceUnavailable {
		SetRetryAfter(c, unavailableRetry)
	}
	return c.Status(status).JSON(fiber.Map{"error": e.Code, "error_description": e.Description})
}
