package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// SessionCookie holds the browser's session token (the database keeps only its hash).
const SessionCookie = "phaseboard_session"

// Identity is who makes a request: a logged-in user (browser) or an API client (token). ForUser
// is the user an API client acts for (a token of the authorization code flow): the client
// then has that user's role and sees what the user sees.
type Identity struct {
	User    *models.User
	Client  *models.APIClient
	ForUser *models.User
	Scopes  string // space-separated; a browser session may only read the API
}

// Actor is the identity as the author of changes.
func (id *Identity) Actor() models.Actor {
	switch {
	case id.User != nil:
		return id.User.Actor()
	case id.ForUser != nil:
		return id.ForUser.Actor()
	case id.Client != nil:
		return models.Actor{EmployeeID: id.Client.EmployeeID, Role: id.Client.Role}
	}
	return Anonymous
}

// Anonymous is the actor of a request without identity: its role is none of models.Roles, so
// every permission check refuses it (the zero Actor would be the trusted system).
var Anonymous = models.Actor{Role: "anonymous"}

type ctxKey int

const identityKey ctxKey = 1

const (
	localsIdentity = "phaseboard.identity"
	localsSession  = "phaseboard.session"
)

// WithIdentity returns ctx carrying id (for the domain and the OData layer).
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// IdentityFrom returns the identity carried by ctx.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey).(*Identity)
	return id, ok && id != nil
}

// CurrentEmployeeID is the employee the caller acts as (OData's GetCurrentEmployee()).
func CurrentEmployeeID(ctx context.Context) (uuid.UUID, bool) {
	id, ok := IdentityFrom(ctx)
	if !ok {
		return uuid.Nil, false
	}
	a := id.Actor()
	if a.EmployeeID == nil {
		return uuid.Nil, false
	}
	return *a.EmployeeID, true
}

// CurrentActor is the caller as a models.Actor; Anonymous when the request carries no identity.
func CurrentActor(ctx context.Context) models.Actor {
	if id, ok := IdentityFrom(ctx); ok {
		return id.Actor()
	}
	return Anonymous
}

// ActorOf is CurrentActor for a Fiber request.
func ActorOf(c *fiber.Ctx) models.Actor { return CurrentActor(c.UserContext()) }

// CurrentUser is the logged-in user of a browser request, or nil.
func CurrentUser(c *fiber.Ctx) *models.User {
	if id, ok := c.Locals(localsIdentity).(*Identity); ok && id != nil {
		return id.User
	}
	return nil
}

func setIdentity(c *fiber.Ctx, id *Identity) {
	c.Locals(localsIdentity, id)
	// The domain reads who asks from the context too (models.ReadScope limits what they read).
	c.SetUserContext(models.WithActor(WithIdentity(c.UserContext(), id), id.Actor()))
	// A net/http handler mounted with Fiber's adaptor (the OData service) gets the fasthttp
	// RequestCtx as r.Context(), whose Value(key) reads the user values: put it there too.
	c.Context().SetUserValue(identityKey, id)
}

// loadSession loads the session of the request's cookie, once per request, and puts its user
// into the request (c.Locals and the user context); without one the request goes on
// anonymously and RequireUser decides. stale reports a
// cookie that no longer opens a session (expired, logged out). A database that cannot be
// reached is an error (503), never a logout: the cookie stays as it is.
func loadSession(c *fiber.Ctx, store *models.Store) (sess *models.ActiveSession, stale bool, err error) {
	if l, ok := c.Locals(localsSession).(loadedSession); ok {
		return l.sess, l.stale, nil
	}
	token := c.Cookies(SessionCookie)
	if token == "" {
		return nil, false, nil
	}
	sess, err = store.Session(c.UserContext(), token)
	switch {
	case err == nil:
		c.Locals(localsSession, loadedSession{sess: sess})
		setIdentity(c, &Identity{User: sess.User, Scopes: models.ScopeRead})
		// A logged-in page holds the user's data and CSRF token: no cache may keep it.
		c.Set(fiber.HeaderCacheControl, "no-store")
		return sess, false, nil
	case models.ErrorCode(err) == models.EUnauthorized:
		c.Locals(localsSession, loadedSession{stale: true})
		return nil, true, nil
	}
	return nil, false, err
}

// loadedSession is loadSession's answer, kept for the rest of the request.
type loadedSession struct {
	sess  *models.ActiveSession
	stale bool
}

// SetSessionCookie hands the browser its session token: HttpOnly (no script reads it),
// SameSite=Lax (no cross-site posts carry it), Secure behind TLS.
func SetSessionCookie(c *fiber.Ctx, token string, expires time.Time, secure bool) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: secure})
}

// ClearSessionCookie removes the session cookie (logout).
func ClearSessionCookie(c *fiber.Ctx, secure bool) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: secure})
}

// RequireUser lets only logged-in users through. Browsers go to the login page (htmx via
// HX-Redirect, as a redirect of an XHR would only swap the login page into a fragment).
func RequireUser(c *fiber.Ctx) error {
	if CurrentUser(c) != nil {
		return c.Next()
	}
	target := "/login"
	if c.Method() == fiber.MethodGet && !IsHTMX(c) {
		target += "?next=" + url.QueryEscape(c.OriginalURL())
	} else if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil && u.Path != "" {
		target += "?next=" + url.QueryEscape(u.RequestURI())
	}
	if IsHTMX(c) {
		c.Set("HX-Redirect", target)
		return c.Status(fiber.StatusUnauthorized).SendString("Please log in.")
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

// RequireRole lets through logged-in users with one of the roles; others get 403.
func RequireRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := CurrentUser(c)
		if u == nil {
			return RequireUser(c)
		}
		for _, r := range roles {
			if u.Role == r {
				return c.Next()
			}
		}
		return fiber.NewError(fiber.StatusForbidden, "Your role does not allow this page.")
	}
}

// SafeNext returns next when it is a path on this site, else "/board": the login page must not
// become an open redirect.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/board"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/board"
	}
	return next
}

// APIAuthConfig configures APIAuth.
type APIAuthConfig struct {
	Store *models.Store
	// RateLimit is how many requests one client (or browser user) may make per RateWindow;
	// default 1000 a minute, like Tribe's.
	RateLimit  int
	RateWindow time.Duration
	// Logger receives failures to count (slog.Default() when nil).
	Logger *slog.Logger
}

// APIAuth authenticates the OData API: a bearer token (Authorization header or access_token
// query parameter) or, for reads only, a browser session. Reads need the read scope, writes the
// write scope. Each client gets its own rate limit, counted in the database so that every
// instance agrees. Mount it before the OData handler: app.Use("/v1/odata", web.APIAuth(cfg)).
func APIAuth(cfg APIAuthConfig) fiber.Handler {
	cfg = cfg.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return func(c *fiber.Ctx) error {
		id, challenge, err := authenticateAPI(c, cfg.Store)
		switch {
		case models.ErrorCode(err) == models.EUnavailable:
			SetRetryAfter(c, unavailableRetry)
			return odataError(c, fiber.StatusServiceUnavailable, "ServiceUnavailable", unavailableMessage)
		case err != nil:
			cfg.Logger.Error("api authentication failed", "url", LogURL(c), "err", err)
			return odataError(c, fiber.StatusInternalServerError, "InternalError", models.ErrorMessage(err))
		case id == nil:
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="phaseboard"`+challenge)
			return odataError(c, fiber.StatusUnauthorized, "Unauthorized", "Authentication required: send a valid access token as 'Authorization: Bearer <token>'.")
		}
		need := models.ScopeWrite
		if !isUnsafe(c.Method()) {
			need = models.ScopeRead
		}
		if c.Method() == fiber.MethodPost && strings.HasSuffix(c.Path(), "/$batch") {
			need = models.ScopeRead // each request inside is checked by its own method (handlers/odata.go)
		}
		// write implies read: a client that may change records may also see them.
		if !models.HasScope(id.Scopes, need) && !models.HasScope(id.Scopes, models.ScopeWrite) {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="phaseboard", error="insufficient_scope", scope="`+need+`"`)
			return odataError(c, fiber.StatusForbidden, "Forbidden", "This access token lacks the '"+need+"' scope.")
		}
		setIdentity(c, id)
		c.Set(fiber.HeaderCacheControl, "no-store")
		// Counted from this instance's share of the client's quota (models.Store.Take): a read
		// pays no round trip; a write records itself as the client's last write, so that a read
		// right after it, on any instance, reads from the primary.
		count, err := takeQuota(c.UserContext(), cfg, id, isUnsafe(c.Method()))
		var limited *RateLimited
		if err == nil || errors.As(err, &limited) {
			setRateHeaders(c, cfg.RateLimit, count, cfg.Store.Now())
		}
		switch {
		case errors.As(err, &limited):
			SetRetryAfter(c, limited.RetryAfter)
			return odataError(c, fiber.StatusTooManyRequests, "TooManyRequests", "Rate limit exceeded; retry after the number of seconds in Retry-After.")
		case err != nil:
			SetRetryAfter(c, unavailableRetry)
			cfg.Logger.Warn("api rate limit: cannot count", "url", LogURL(c), "err", err)
			return odataError(c, fiber.StatusServiceUnavailable, "ServiceUnavailable", unavailableMessage)
		}
		if !isUnsafe(c.Method()) {
			lastWrite := count.LastWrite
			if id.User != nil { // a browser session reading the API: its board writes count too
				lastWrite = later(lastWrite, wroteAt(c))
			}
			c.SetUserContext(cfg.Store.ReadsFor(c.UserContext(), lastWrite))
		}
		return c.Next()
	}
}

// authenticateAPI finds the caller of an API request. Without one it returns the error
// attribute of WWW-Authenticate (empty when no credentials were sent, RFC 6750 §3.1); err is a
// failure to look the credentials up, never a verdict on them.
func authenticateAPI(c *fiber.Ctx, store *models.Store) (id *Identity, challenge string, err error) {
	token := ""
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, `, error="invalid_request"`, nil
		}
		token = strings.TrimSpace(rest)
	} else {
		token = c.Query("access_token")
	}
	if token != "" {
		g, err := store.LookupToken(c.UserContext(), token)
		if models.ErrorCode(err) == models.EUnauthorized {
			return nil, `, error="invalid_token"`, nil
		}
		if err != nil {
			return nil, "", err
		}
		return &Identity{Client: &g.Client, ForUser: g.User, Scopes: g.Scopes}, "", nil
	}
	sess, _, err := loadSession(c, store)
	if err != nil || sess == nil {
		return nil, "", err
	}
	return &Identity{User: sess.User, Scopes: models.ScopeRead}, "", nil
}

// odataError answers with the API's one error body, odata.WriteError's.
func odataError(c *fiber.Ctx, status int, code, message string) error {
	odata.WriteError(&fiberResponse{c: c}, &odata.Error{Status: status, Code: code, Message: message})
	return nil
}

// fiberResponse is an http.ResponseWriter over a Fiber response, for the net/http writers of
// the OData package.
type fiberResponse struct {
	c      *fiber.Ctx
	header http.Header
}

func (w *fiberResponse) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *fiberResponse) WriteHeader(status int) {
	for k, vs := range w.header {
		for _, v := range vs {
			w.c.Set(k, v)
		}
	}
	w.c.Status(status)
}

func (w *fiberResponse) Write(b []byte) (int, error) { return w.c.Write(b) }
