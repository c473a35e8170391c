package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// loginError is the one message of a failed login: it does not say which part was wrong.
const loginError = "That email and password do not match an active account."

// LoginPage shows the login form (or goes on to the board when already logged in).
func (h *Handler) LoginPage(c *fiber.Ctx) error {
	next := web.SafeNext(c.Query("next"))
	if web.CurrentUser(c) != nil {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return h.renderLogin(c, fiber.StatusOK, views.LoginForm{Next: next})
}

// Login checks the email and password and starts a new session. The old session, if any, ends:
// a token planted before login (session fixation) never becomes a logged-in one.
func (h *Handler) Login(c *fiber.Ctx) error {
	form := views.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: web.SafeNext(c.FormValue("next"))}
	u, err := h.Store.Authenticate(c.UserContext(), form.Email, c.FormValue("password"))
	if models.ErrorCode(err) == models.EUnauthorized {
		form.Error = loginError
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	}
	if err != nil {
		return err
	}
	if err := h.Store.DeleteSession(c.UserContext(), c.Cookies(web.SessionCookie)); err != nil {
		return err
	}
	token, expires, err := h.Store.CreateSession(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	web.SetSessionCookie(c, token, expires, h.SecureCookies)
	return c.Redirect(form.Next, fiber.StatusSeeOther)
}

// Logout ends the session (a POST with the CSRF token, so no other site can log a user out).
func (h *Handler) Logout(c *fiber.Ctx) error {
	if err := h.Store.DeleteSession(c.UserContext(), c.Cookies(web.SessionCookie)); err != nil {
		return err
	}
	web.ClearSessionCookie(c, h.SecureCookies)
	if web.IsHTMX(c) {
		c.Set("HX-Redirect", "/login")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}

func (h *Handler) renderLogin(c *fiber.Ctx, status int, form views.LoginForm) error {
	form.Page = views.Page{Title: "Log in", CSRF: web.CSRFToken(c)}
	return web.Render(c, status, views.LoginPage(form))
}

// loginLimiters slow down password guessing: failed logins are counted per client IP and per
// email (successful ones are not), in the shared kv_store so that every instance counts together.
func (h *Handler) loginLimiters() []fiber.Handler {
	perEmail := h.LoginLimit
	if perEmail <= 0 {
		perEmail = 10
	}
	window := h.LoginWindow
	if window <= 0 {
		window = 15 * time.Minute
	}
	reached := func(c *fiber.Ctx) error {
		form := views.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: web.SafeNext(c.FormValue("next")),
			Error: "Too many failed attempts. Wait a few minutes and try again."}
		return h.renderLogin(c, fiber.StatusTooManyRequests, form)
	}
	mk := func(prefix string, max int, key func(*fiber.Ctx) string) fiber.Handler {
		return limiter.New(limiter.Config{
			Max: max, Expiration: window, KeyGenerator: key, LimitReached: reached,
			SkipSuccessfulRequests: true,
			Storage:                h.Store.KV(prefix),
		})
	}
	return []fiber.Handler{
		mk("rl:login-ip:", perEmail*3, func(c *fiber.Ctx) string { return c.IP() }),
		mk("rl:login-email:", perEmail, func(c *fiber.Ctx) string { return models.NormalizeEmail(c.FormValue("email")) }),
	}
}
