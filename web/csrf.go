package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
)

// Browser mutations (every POST, PUT, PATCH and DELETE outside the API and the OAuth2
// endpoints) are checked twice:
//
//  1. Origin. A browser says where a request comes from: Sec-Fetch-Site must be same-origin
//     (or none, a typed URL); without it, an Origin header must name this host. Cross-site and
//     same-site (a sibling subdomain) requests get 403. A client that sends neither (not a
//     browser, or a very old one) is left to the token.
//  2. Token. A logged-in request carries its session's CSRF token (X-CSRF-Token from htmx or
//     the _csrf form field). The token is the session row's csrf_secret: made at login (so each
//     login rotates it), valid only with that session, and read in the same query as the session
//     itself, so a page view writes nothing to the database.
//
// The anonymous login form has no session to bind to. Its token is an HMAC, under a server key
// kept once in kv_store (models.Store.ServerKey), of a random nonce in the pre-session cookie
// phaseboard_csrf (HttpOnly, SameSite=Lax). Every instance can check it, and nothing is stored
// per visitor. Another site can neither read the token nor make one for the victim's cookie;
// it could only plant its own cookie and token pair through a sibling subdomain, which the
// origin check refuses.

// csrfCookie holds the anonymous visitor's nonce.
const csrfCookie = "phaseboard_csrf"

// staleFormMessage answers a mutation whose token does not match.
const staleFormMessage = "Your session expired or the form is stale: reload the page and try again."

// csrfExempt are the paths where browser CSRF does not apply: the API and the OAuth2 token and
// revocation endpoints authenticate with credentials a browser does not send on its own; the
// health check changes nothing. The authorization endpoint (/oauth2/auth) is a browser page:
// its Allow and Deny are checked like every other form.
func csrfExempt(path string) bool {
	return strings.HasPrefix(path, "/v1/") || oauthClientEndpoint(path) || path == "/healthz"
}

func isUnsafe(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
		return false
	}
	return true
}

// browserSession loads the session of the cookie (loadSession), hands the views their CSRF
// token (CSRFToken) and checks origin and token of every browser mutation.
func browserSession(store *models.Store, secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		path := c.Path()
		// The API loads its own session, if any (APIAuth), to answer in OData's error format.
		if csrfExempt(path) || strings.HasPrefix(path, "/static/") {
			return c.Next()
		}
		sess, stale, err := loadSession(c, store)
		if err != nil {
			return err
		}
		token := ""
		if sess != nil {
			token = sess.CSRFSecret
		} else if token, err = anonymousToken(c, store, secure); err != nil {
			return err
		}
		c.Locals(csrfKey, token)
		if !isUnsafe(c.Method()) {
			return c.Next()
		}
		if !sameOrigin(c) {
			return fiber.NewError(fiber.StatusForbidden, "Cross-site request refused.")
		}
		valid := []string{token}
		if sess != nil && path == "/login" {
			// The login form is an anonymous form, also when a session exists by now (another
			// tab logged in): its token is the visitor's. Nothing else takes that token.
			anon, err := anonymousToken(c, store, secure)
			if err != nil {
				return err
			}
			valid = append(valid, anon)
		}
		if !tokenMatches(sentCSRFToken(c), valid) {
			if stale {
				return RequireUser(c) // the session has ended: log in again
			}
			return fiber.NewError(fiber.StatusForbidden, staleFormMessage)
		}
		if err := c.Next(); err != nil {
			return err
		}
		if c.Response().StatusCode() < 400 {
			markWrote(c, store, secure) // this browser reads its own write next (replicas.go)
		}
		return nil
	}
}

func tokenMatches(sent string, valid []string) bool {
	ok := false
	for _, v := range valid {
		if sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(v)) == 1 {
			ok = true
		}
	}
	return ok
}

// sameOrigin reports whether a browser request comes from this site's own pages.
func sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default: // cross-site, same-site
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" { // "null" (sandboxed frames, privacy redirects) too
		return false
	}
	return strings.EqualFold(u.Host, string(c.Request().Host()))
}

// sentCSRFToken reads the token from htmx's header or a plain form's hidden field, so that
// pages work with and without JavaScript.
func sentCSRFToken(c *fiber.Ctx) string {
	if t := c.Get("X-CSRF-Token"); t != "" {
		return t
	}
	return c.FormValue("_csrf")
}

// anonymousToken is the login form's CSRF token for the visitor's nonce cookie, which it sets
// when missing (a cookie, not a database row).
func anonymousToken(c *fiber.Ctx, store *models.Store, secure bool) (string, error) {
	key, err := store.ServerKey(c.UserContext(), "login-csrf")
	if err != nil {
		return "", err
	}
	nonce := c.Cookies(csrfCookie)
	if nonce == "" || len(nonce) > 64 {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		nonce = base64.RawURLEncoding.EncodeToString(b)
		c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: nonce, Path: "/", Expires: time.Now().Add(12 * time.Hour),
			HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: secure})
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("phaseboard anonymous csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}
