package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

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
	throttle, err := h.loginThrottle(c, form.Email)
	if err != nil {
		return err
	}
	if wait := throttle.wait(); wait > 0 {
		web.SetRetryAfter(c, wait)
		form.Error = "Too many failed attempts. Wait a few minutes and try again."
		return h.renderLogin(c, fiber.StatusTooManyRequests, form)
	}
	u, err := h.Store.Authenticate(c.UserContext(), form.Email, c.FormValue("password"))
	if models.ErrorCode(err) == models.EUnauthorized {
		if err := throttle.failed(); err != nil {
			return err
		}
		form.Error = loginError
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	}
	if err != nil {
		return err
	}
	if err := throttle.succeeded(u); err != nil {
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
