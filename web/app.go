// Package web builds the Fiber application: middleware, static files, CSRF, error mapping and
// the helpers handlers use to render templ components for full pages and htmx fragments.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"phaseboard/models"
	"phaseboard/static"
	"phaseboard/web/redact"
)

// Config is what the application needs from main.
type Config struct {
	Store *models.Store
	// SecureCookies sets the Secure flag (behind TLS). Off for http://localhost.
	SecureCookies bool
	Logger        *slog.Logger
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client (for the
	// per-IP rate limits); without them the connection's address is the client's.
	TrustedProxies []netip.Prefix
}

const csrfKey = "csrf"

// BodyLimit caps request bodies; larger ones get 413.
const BodyLimit = 1 << 20

// New returns the Fiber app with middleware installed; handlers add their routes to it.
func New(cfg Config) *fiber.App {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	app := fiber.New(fiber.Config{
		AppName:               "Phaseboard",
		DisableStartupMessage: true,
		BodyLimit:             BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		ErrorHandler:          errorHandler(cfg.Logger),
	})
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		cfg.Logger.Error("panic", "method", c.Method(), "url", LogURL(c), "panic", e)
	}}))
	app.Use(securityHeaders)
	// Until a session or token says otherwise, a request reads as nobody (models.ReadScope):
	// the domain's zero actor is the trusted system, which no request may be.
	app.Use(func(c *fiber.Ctx) error {
		c.SetUserContext(models.WithActor(c.UserContext(), Anonymous))
		c.Locals(localsClientIP, clientIP(c, cfg.TrustedProxies))
		return c.Next()
	})
	app.Use(RefuseBadText)
	app.Use("/static", filesystem.New(filesystem.Config{
		Root:   http.FS(static.FS),
		MaxAge: 3600,
	}))
	app.Use(browserSession(cfg.Store, cfg.SecureCookies))
	return app
}

// CSRFToken is the token for forms and htmx headers of this request.
func CSRFToken(c *fiber.Ctx) string {
	t, _ := c.Locals(csrfKey).(string)
	return t
}

func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	return c.Next()
}

// IsHTMX reports whether the request comes from htmx (and wants a fragment).
func IsHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// Render writes a templ component as HTML with the given status.
func Render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// LogURL is the request's URL as a log line may show it: credentials (an access_token in the
// query, say) masked. Every URL that is logged goes through it.
func LogURL(c *fiber.Ctx) string { return redact.RequestURI(c.OriginalURL()) }

// errorHandler answers errors that handlers return: domain errors with their status and safe
// message, Fiber errors as they are, anything else as a logged 500 without internals.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, msg := fiber.StatusInternalServerError, models.ErrorMessage(err)
		var fe *fiber.Error
		switch {
		case errors.As(err, &fe):
			status, msg = fe.Code, fe.Message
		case models.ErrorCode(err) != models.EInternal:
			status = StatusOf(err)
		default:
			log.Error("request failed", "method", c.Method(), "url", LogURL(c), "err", err)
		}
		if status == fiber.StatusServiceUnavailable {
			SetRetryAfter(c, unavailableRetry)
		}
		c.Status(status)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(msg)
	}
}
