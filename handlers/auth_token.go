package handlers

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/web"
)

// Token is the OAuth2 token endpoint (RFC 6749 §4.4, client credentials). The client
// authenticates with HTTP Basic or with client_id and client_secret in the form body.
func (h *Handler) Token(c *fiber.Ctx) error {
	// Tokens must never be cached (RFC 6749 §5.1).
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Pragma", "no-cache")
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "Send the request as application/x-www-form-urlencoded.")
	}
	id, secret, basic, ok := clientCredentials(c)
	if !ok {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "Authenticate the client once: with HTTP Basic or with client_id and client_secret.")
	}
	if answered, err := h.limitTokenRequests(c, id); answered {
		return err
	}
	if gt := c.FormValue("grant_type"); gt != "client_credentials" {
		if gt == "" {
			return oauthError(c, fiber.StatusBadRequest, "invalid_request", "grant_type is required.")
		}
		return oauthError(c, fiber.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
	}
	client, err := h.Store.AuthenticateClient(c.UserContext(), id, secret)
	if models.ErrorCode(err) == models.EUnauthorized {
		if basic {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="phaseboard"`)
		}
		return oauthError(c, fiber.StatusUnauthorized, "invalid_client", "Unknown client or wrong secret.")
	}
	if err != nil {
		return err
	}
	token, tok, err := h.Store.IssueToken(c.UserContext(), client, c.FormValue("scope"))
	if models.ErrorCode(err) == models.EInvalid {
		return oauthError(c, fiber.StatusBadRequest, "invalid_scope", models.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(tok.ExpiresAt.Sub(tok.CreatedAt).Seconds()),
		"scope":        tok.Scopes,
	})
}

// Revoke is the OAuth2 revocation endpoint (RFC 7009): an authenticated client revokes one of
// its access tokens. It answers 200 whether or not the token existed.
func (h *Handler) Revoke(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	id, secret, basic, ok := clientCredentials(c)
	if !ok {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "Authenticate the client once: with HTTP Basic or with client_id and client_secret.")
	}
	client, err := h.Store.AuthenticateClient(c.UserContext(), id, secret)
	if models.ErrorCode(err) == models.EUnauthorized {
		if basic {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="phaseboard"`)
		}
		return oauthError(c, fiber.StatusUnauthorized, "invalid_client", "Unknown client or wrong secret.")
	}
	if err != nil {
		return err
	}
	token := c.FormValue("token")
	if token == "" {
		return oauthError(c, fiber.StatusBadRequest, "invalid_request", "token is required.")
	}
	if err := h.Store.RevokeClientToken(c.UserContext(), client.ID, token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusOK)
}

// limitTokenRequests counts a token request against its client id and its client's IP (one
// statement): each request checks a secret, so guessing must stay slow. A client needs a token
// an hour; the IP's budget is three clients' (an office behind one address). Unknown client ids
// count too, under their own key. It reports whether it has answered the request (429, 503).
func (h *Handler) limitTokenRequests(c *fiber.Ctx, clientID string) (answered bool, err error) {
	perClient := h.TokenLimit
	if perClient <= 0 {
		perClient = 20
	}
	if len(clientID) > 64 {
		clientID = clientID[:64]
	}
	err = web.CheckRate(c, h.Store, time.Minute,
		web.RateRule{Key: "token:client:" + clientID, Max: perClient},
		web.RateRule{Key: "token:ip:" + web.ClientIP(c), Max: 3 * perClient})
	var limited *web.RateLimited
	switch {
	case errors.As(err, &limited):
		return true, oauthError(c, fiber.StatusTooManyRequests, "temporarily_unavailable", "Too many token requests; retry after the number of seconds in Retry-After.")
	case models.ErrorCode(err) == models.EUnavailable:
		return true, oauthError(c, fiber.StatusServiceUnavailable, "temporarily_unavailable", models.ErrorMessage(err))
	}
	return err != nil, err
}

// clientCredentials reads the client id and secret from HTTP Basic (form-encoded, RFC 6749
// §2.3.1) or from the body; using both, or neither, is not ok.
func clientCredentials(c *fiber.Ctx) (id, secret string, basic, ok bool) {
	formID, formSecret := c.FormValue("client_id"), c.FormValue("client_secret")
	auth := c.Get(fiber.HeaderAuthorization)
	if auth == "" {
		return formID, formSecret, false, formID != "" && formSecret != ""
	}
	scheme, rest, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Basic") || formSecret != "" {
		return "", "", true, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", true, false
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", true, false
	}
	if id, err = url.QueryUnescape(u); err != nil {
		return "", "", true, false
	}
	if secret, err = url.QueryUnescape(p); err != nil {
		return "", "", true, false
	}
	if formID != "" && formID != id {
		return "", "", true, false
	}
	return id, secret, true, id != "" && secret != ""
}

func oauthError(c *fiber.Ctx, status int, code, description string) error {
	return c.Status(status).JSON(fiber.Map{"error": code, "error_description": description})
}
