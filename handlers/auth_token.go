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

// Token is the OAuth2 token endpoint (RFC 6749 §3.2) for three grants: client_credentials
// (§4.4: the client acts as its own employee), authorization_code (§4.1.3, with PKCE) and
// refresh_token (§6), whose tokens act as the user who allowed access (models/oauth.go). The
// client always authenticates, with HTTP Basic or with client_id and client_secret in the body.
func (h *Handler) Token(c *fiber.Ctx) error {
	// Tokens must never be cached (RFC 6749 §5.1).
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Pragma", "no-cache")
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		return oauthRefuse(c, models.OAuthInvalidRequest, "Send the request as application/x-www-form-urlencoded.")
	}
	if name := repeatedParameter(c, "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "client_id", "client_secret"); name != "" {
		return web.OAuthError(c, repeatedParameterError(name))
	}
	id, secret, basic, ok := clientCredentials(c)
	if !ok {
		return oauthRefuse(c, models.OAuthInvalidRequest, "Authenticate the client once: with HTTP Basic or with client_id and client_secret.")
	}
	if answered, err := h.limitTokenRequests(c, id); answered {
		return err
	}
	grant := c.FormValue("grant_type")
	switch grant {
	case "client_credentials", "authorization_code", "refresh_token":
	case "":
		return oauthRefuse(c, models.OAuthInvalidRequest, "grant_type is required.")
	default:
		return oauthRefuse(c, models.OAuthUnsupportedGrantType, "Use grant_type client_credentials, authorization_code or refresh_token.")
	}
	client, err := h.authenticateClient(c, id, secret, basic)
	if client == nil {
		return err
	}
	var issued *models.IssuedTokens
	switch grant {
	case "client_credentials":
		issued = &models.IssuedTokens{}
		issued.AccessToken, issued.Access, err = h.Store.IssueToken(c.UserContext(), client, c.FormValue("scope"))
	case "authorization_code":
		issued, err = h.Store.ExchangeCode(c.UserContext(), client, c.FormValue("code"), c.FormValue("redirect_uri"), c.FormValue("code_verifier"))
	case "refresh_token":
		issued, err = h.Store.RefreshGrant(c.UserContext(), client, c.FormValue("refresh_token"), c.FormValue("scope"))
	}
	if err != nil {
		return web.OAuthError(c, err)
	}
	answer := fiber.Map{
		"access_token": issued.AccessToken,
		"token_type":   "Bearer",
		"expires_in":   int(issued.Access.ExpiresAt.Sub(issued.Access.CreatedAt).Seconds()),
		"scope":        issued.Access.Scopes,
	}
	if issued.RefreshToken != "" {
		answer["refresh_token"] = issued.RefreshToken
	}
	return c.JSON(answer)
}

// Revoke is the OAuth2 revocation endpoint (RFC 7009): an authenticated client revokes one of
// its access tokens, or a refresh token and with it the user's whole grant. It answers 200
// whether or not the token existed.
func (h *Handler) Revoke(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if name := repeatedParameter(c, "token", "token_type_hint", "client_id", "client_secret"); name != "" {
		return web.OAuthError(c, repeatedParameterError(name))
	}
	id, secret, basic, ok := clientCredentials(c)
	if !ok {
		return oauthRefuse(c, models.OAuthInvalidRequest, "Authenticate the client once: with HTTP Basic or with client_id and client_secret.")
	}
	client, err := h.authenticateClient(c, id, secret, basic)
	if client == nil {
		return err
	}
	token := c.FormValue("token")
	if token == "" {
		return oauthRefuse(c, models.OAuthInvalidRequest, "token is required.")
	}
	if err := h.Store.RevokeClientToken(c.UserContext(), client.ID, token); err != nil {
		return web.OAuthError(c, err)
	}
	return c.SendStatus(fiber.StatusOK)
}

// authenticateClient checks the client's id and secret. Without a client it has answered
// (invalid_client, with a Basic challenge when the client used Basic, RFC 6749 §5.2) and err is
// what the handler returns.
func (h *Handler) authenticateClient(c *fiber.Ctx, id, secret string, basic bool) (*models.APIClient, error) {
	client, err := h.Store.AuthenticateClient(c.UserContext(), id, secret)
	if err == nil {
		return client, nil
	}
	if models.ErrorCode(err) == models.EUnauthorized && basic {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="phaseboard"`)
	}
	return nil, web.OAuthError(c, err)
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
		return true, web.WriteOAuthError(c, fiber.StatusTooManyRequests, &models.OAuthError{Code: models.OAuthTemporarilyUnavailable,
			Description: "Too many token requests; retry after the number of seconds in Retry-After."})
	case models.ErrorCode(err) == models.EUnavailable:
		return true, web.OAuthError(c, err)
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

// oauthRefuse answers with an OAuth2 error body (web.OAuthError gives the status).
func oauthRefuse(c *fiber.Ctx, code, description string) error {
	return web.OAuthError(c, &models.OAuthError{Code: code, Description: description})
}

// repeatedParameter is the first of names that the request's query and form give more than once
// (together), or "". RFC 6749 §3.1 and §3.2: parameters must not be repeated, and a request
// that repeats one is invalid_request; reading the first of two would let a client's second
// value be silently ignored.
func repeatedParameter(c *fiber.Ctx, names ...string) string {
	counts := make(map[string]int, len(names))
	for _, n := range names {
		counts[n] = 0
	}
	repeated := ""
	count := func(k, _ []byte) {
		if n, ok := counts[string(k)]; ok {
			counts[string(k)] = n + 1
			if n == 1 && repeated == "" {
				repeated = string(k)
			}
		}
	}
	c.Request().URI().QueryArgs().VisitAll(count)
	c.Request().PostArgs().VisitAll(count)
	return repeated
}

func repeatedParameterError(name string) error {
	return &models.OAuthError{Code: models.OAuthInvalidRequest, Description: name + " is given more than once."}
}
