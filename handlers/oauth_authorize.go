package handlers

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// The authorization endpoint (RFC 6749 §4.1.1, Tribe's GET /oauth2/auth): the browser comes with
// the client's request; a logged-in user sees the consent page (others log in first and come
// back to it), and Allow or Deny — a form POST, CSRF- and origin-checked like every browser
// mutation (web/csrf.go) — sends the browser back to the client's redirect URI with a code or
// error=access_denied, and the client's state. Until the client and its redirect URI are known
// good, a problem is shown on a page, never sent to the URI (§4.1.2.1: no open redirector).

// Authorize shows the consent page for an authorization request.
func (h *Handler) Authorize(c *fiber.Ctx) error {
	r := authorizationRequest(c.Query)
	client, err := h.authorizationClient(c, r)
	if err != nil {
		return h.oauthProblem(c, err)
	}
	if name := repeatedAuthorizationParameter(c); name != "" {
		return redirectRefusal(c, r, repeatedParameterError(name), fiber.StatusFound)
	}
	scopes, err := models.CheckAuthorization(client, r)
	if err != nil {
		return redirectRefusal(c, r, err, fiber.StatusFound)
	}
	if web.CurrentUser(c) == nil {
		return web.RequireUser(c) // to the login page, and back here after it
	}
	v := views.ConsentView{Page: page(c, "Allow access", ""), Client: client, Scopes: scopes, Request: r}
	return web.Render(c, fiber.StatusOK, views.ConsentPage(v))
}

// AuthorizeDecision is the consent form's Allow or Deny. The request it carries is checked
// again (the form could have been edited); Deny writes nothing.
func (h *Handler) AuthorizeDecision(c *fiber.Ctx) error {
	r := authorizationRequest(func(key string, _ ...string) string { return c.FormValue(key) })
	client, err := h.authorizationClient(c, r)
	if err != nil {
		return h.oauthProblem(c, err)
	}
	if name := repeatedAuthorizationParameter(c); name != "" {
		return redirectRefusal(c, r, repeatedParameterError(name), fiber.StatusSeeOther)
	}
	if _, err := models.CheckAuthorization(client, r); err != nil {
		return redirectRefusal(c, r, err, fiber.StatusSeeOther)
	}
	user := web.CurrentUser(c)
	if user == nil {
		return web.RequireUser(c)
	}
	if c.FormValue("decision") != "allow" {
		return redirectRefusal(c, r, &models.OAuthError{Code: models.OAuthAccessDenied, Description: "The user denied access."}, fiber.StatusSeeOther)
	}
	code, err := h.Store.IssueAuthorizationCode(c.UserContext(), user, r)
	if err != nil {
		return redirectRefusal(c, r, err, fiber.StatusSeeOther)
	}
	return redirectTo(c, r, url.Values{"code": {code}}, fiber.StatusSeeOther)
}

// authorizationClient is the request's client once its redirect URI is known good. A repeated
// client_id or redirect_uri leaves none to trust, so that refusal is a page too.
func (h *Handler) authorizationClient(c *fiber.Ctx, r models.AuthorizationRequest) (*models.APIClient, error) {
	if name := repeatedParameter(c, "client_id", "redirect_uri"); name != "" {
		return nil, repeatedParameterError(name)
	}
	return h.Store.AuthorizationClient(c.UserContext(), r)
}

// repeatedAuthorizationParameter is the first parameter of an authorization request given twice.
func repeatedAuthorizationParameter(c *fiber.Ctx) string {
	return repeatedParameter(c, "response_type", "scope", "state", "code_challenge", "code_challenge_method", "decision")
}

func authorizationRequest(get func(key string, defaultValue ...string) string) models.AuthorizationRequest {
	return models.AuthorizationRequest{ResponseType: get("response_type"), ClientID: get("client_id"), RedirectURI: get("redirect_uri"),
		Scope: get("scope"), State: get("state"), CodeChallenge: get("code_challenge"), CodeChallengeMethod: get("code_challenge_method")}
}

// oauthProblem shows an error that may not go to the redirect URI, with its OAuth2 status.
func (h *Handler) oauthProblem(c *fiber.Ctx, err error) error {
	e, status := web.OAuthRefusal(err)
	if e == nil {
		return err
	}
	v := views.OAuthProblemView{Page: page(c, "Sign-in request refused", ""), Code: e.Code, Description: e.Description}
	return web.Render(c, status, views.OAuthProblemPage(v))
}

// redirectRefusal sends the browser back to the (validated) redirect URI with the error, its
// description and the state (RFC 6749 §4.1.2.1). A failure that is no refusal (the database)
// is a page, as the client could do nothing with it.
func redirectRefusal(c *fiber.Ctx, r models.AuthorizationRequest, err error, status int) error {
	e, _ := web.OAuthRefusal(err)
	if e == nil {
		return err
	}
	return redirectTo(c, r, url.Values{"error": {e.Code}, "error_description": {e.Description}}, status)
}

// redirectTo sends the browser to the request's redirect URI with params and the state added to
// the URI's own query.
func redirectTo(c *fiber.Ctx, r models.AuthorizationRequest, params url.Values, status int) error {
	u, err := url.Parse(r.RedirectURI)
	if err != nil { // registered URIs parse; this is no client's
		return badRequest("The redirect URI is malformed.")
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if r.State != "" {
		q.Set("state", r.State)
	}
	u.RawQuery = q.Encode()
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(u.String(), status)
}
