package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
)

// Read-your-writes with read replicas (models/replicas.go): a request may read from a replica
// only when its principal has not written within the store's window. Every instance must be
// able to tell without asking the database, so the principal carries it: an API client's rate
// counter records its last write (APIAuth), and a browser gets the wroteCookie with every
// mutation, holding when it wrote and expiring with the window.

// wroteCookie holds when the browser last wrote (unix milliseconds).
const wroteCookie = "phaseboard_wrote"

// markWrote gives the browser the wroteCookie after a mutation, when there are replicas.
func markWrote(c *fiber.Ctx, store *models.Store, secure bool) {
	window := store.ReadYourWrites()
	if window <= 0 {
		return
	}
	now := store.Now()
	c.Cookie(&fiber.Cookie{Name: wroteCookie, Value: strconv.FormatInt(now.UnixMilli(), 10), Path: "/",
		Expires: now.Add(window), MaxAge: int((window + time.Second - 1) / time.Second),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: secure})
}

// wroteAt is when the browser last wrote, by its cookie (zero: not recently). The cookie is only
// a hint to read from the primary: a forged one costs its sender nothing but fresher reads.
func wroteAt(c *fiber.Ctx) time.Time {
	ms, err := strconv.ParseInt(c.Cookies(wroteCookie), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ReplicaReads lets a route's reads come from a read replica (models.Store.ReadsFor): GET and
// HEAD of a browser that has not written recently. Use it on read-heavy pages (forecasts,
// exports). htmx fragments read from the primary unless fragments is set: they are what live
// pages fetch right after a change, which a replica may not have replayed yet.
func ReplicaReads(store *models.Store, fragments bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if store.HasReplicas() && !isUnsafe(c.Method()) && (fragments || !IsHTMX(c)) {
			c.SetUserContext(store.ReadsFor(c.UserContext(), wroteAt(c)))
		}
		return c.Next()
	}
}
