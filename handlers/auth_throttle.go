package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/web"
)

// Login throttling slows down the attacker, not the account owner.
//
// Only completed failures count (a wrong password, counted after the check), never attempts in
// flight, so that several correct logins at once are never refused. Failures are counted in
// fixed windows of LoginWindow (15 minutes), in the database (models.Store.Hit), so every
// instance counts together; checking costs one statement and a failure one more.
//
//   - per client IP and account (LoginLimit, 10): one client guessing one account is stopped,
//     and only that client: the owner logging in from elsewhere is not affected.
//   - per client IP (3 × LoginLimit): one client trying many accounts is stopped.
//   - per account, from clients the account has never logged in from (10 × LoginLimit): many
//     clients (a botnet) guessing one account are stopped. A browser that has logged in to the
//     account before holds a device cookie for it (signed with a server key; OWASP's "device
//     cookies") and is exempt from this limit, so the owner's own browsers keep working while the
//     account is under attack; a stolen device cookie still has the per-client limit of its own.
//
// The per-account limit is ten times the per-client one, so that one client's failures alone
// never lock anyone else out of the account, from a clean client or any other.
type loginThrottle struct {
	h        *Handler
	c        *fiber.Ctx
	email    string
	keys     []string
	limits   []int
	counts   []models.RateCount
	deviceOK bool
}

// deviceCookie marks a browser that has logged in to an account before: email hash, nonce and
// their signature.
const deviceCookie = "phaseboard_device"

func (h *Handler) loginLimits() (perClient int, window time.Duration) {
	perClient, window = h.LoginLimit, h.LoginWindow
	if perClient <= 0 {
		perClient = 10
	}
	if window <= 0 {
		window = 15 * time.Minute
	}
	return perClient, window
}

// loginThrottle reads the failure counts that apply to this login (one statement).
func (h *Handler) loginThrottle(c *fiber.Ctx, email string) (*loginThrottle, error) {
	perClient, window := h.loginLimits()
	account := emailKey(email)
	ip := web.ClientIP(c)
	t := &loginThrottle{h: h, c: c, email: email,
		keys:   []string{"login:ip-account:" + ip + ":" + account, "login:ip:" + ip},
		limits: []int{perClient, 3 * perClient}}
	device, err := h.validDevice(c, account)
	if err != nil {
		return nil, err
	}
	if device != "" {
		t.deviceOK = true
		t.keys = append(t.keys, "login:device:"+device)
		t.limits = append(t.limits, perClient)
	} else {
		t.keys = append(t.keys, "login:account:"+account)
		t.limits = append(t.limits, 10*perClient)
	}
	t.counts, err = h.Store.Hits(c.UserContext(), window, t.keys...)
	return t, err
}

// wait is how long this client must wait before trying again; zero when it may try now.
func (t *loginThrottle) wait() time.Duration {
	var wait time.Duration
	for i, n := range t.counts {
		if n.Hits >= t.limits[i] {
			wait = max(wait, n.Reset.Sub(t.h.Store.Now()))
		}
	}
	return wait
}

// failed counts a wrong password against every key (one statement).
func (t *loginThrottle) failed() error {
	_, window := t.h.loginLimits()
	_, err := t.h.Store.Hit(t.c.UserContext(), window, t.keys...)
	return err
}

// succeeded forgets this client's failures on the account and hands the browser the account's
// device cookie.
func (t *loginThrottle) succeeded(u *models.User) error {
	if err := t.h.Store.ResetHits(t.c.UserContext(), t.keys[0]); err != nil {
		return err
	}
	if t.deviceOK {
		return nil
	}
	key, err := t.h.Store.ServerKey(t.c.UserContext(), "login-device")
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	account, nonce := emailKey(u.Email), base64.RawURLEncoding.EncodeToString(b)
	t.c.Cookie(&fiber.Cookie{Name: deviceCookie, Value: account + "." + nonce + "." + deviceSignature(key, account, nonce),
		Path: "/login", Expires: time.Now().AddDate(1, 0, 0), HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: t.h.SecureCookies})
	return nil
}

// validDevice returns the nonce of the request's device cookie when it is genuine and was
// issued for account, else "".
func (h *Handler) validDevice(c *fiber.Ctx, account string) (string, error) {
	parts := strings.Split(c.Cookies(deviceCookie), ".")
	if len(parts) != 3 || parts[0] != account {
		return "", nil
	}
	key, err := h.Store.ServerKey(c.UserContext(), "login-device")
	if err != nil {
		return "", err
	}
	if !hmac.Equal([]byte(parts[2]), []byte(deviceSignature(key, parts[0], parts[1]))) {
		return "", nil
	}
	return parts[1], nil
}

func deviceSignature(key []byte, account, nonce string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("phaseboard device\x00" + account + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// emailKey names an account in counters and cookies without spelling out its email.
func emailKey(email string) string {
	sum := sha256.Sum256([]byte(models.NormalizeEmail(email)))
	return hex.EncodeToString(sum[:12])
}
