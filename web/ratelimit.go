package web

import (
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
)

// RateRule is one limit a request counts against: at most Max hits of Key per window.
type RateRule struct {
	Key string
	Max int
}

// RateLimited is the answer of CheckRate past a limit; Retry-After is already set.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string { return "rate limit exceeded" }

// unavailableMessage is the API's answer while the database (and so the counters) is down.
const unavailableMessage = "The service cannot reach its database right now; retry after the number of seconds in Retry-After."

// unavailableRetry is the Retry-After of a 503: long enough for a restarting database.
const unavailableRetry = 5 * time.Second

// CheckRate counts the request against every rule, in one statement (models.Store.Hit), and
// sets the X-RateLimit headers of the first rule. Past any rule it sets Retry-After and returns
// *RateLimited. If the count cannot be read it returns that error and sets Retry-After: a limit
// that cannot be counted fails closed (the caller answers 503), since a database that cannot
// count cannot serve the request either.
func CheckRate(c *fiber.Ctx, store *models.Store, window time.Duration, rules ...RateRule) error {
	keys := make([]string, len(rules))
	for i, r := range rules {
		keys[i] = r.Key
	}
	counts, err := store.Hit(c.UserContext(), window, keys...)
	if err != nil {
		SetRetryAfter(c, unavailableRetry)
		return err
	}
	now := store.Now()
	for i, r := range rules {
		if i == 0 {
			setRateHeaders(c, r.Max, counts[i], now)
		}
		if counts[i].Hits > r.Max {
			wait := counts[i].Reset.Sub(now)
			SetRetryAfter(c, wait)
			return &RateLimited{RetryAfter: wait}
		}
	}
	return nil
}

// setRateHeaders tells the client its limit, what is left of it and when the window resets.
func setRateHeaders(c *fiber.Ctx, limit int, count models.RateCount, now time.Time) {
	c.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-count.Hits)))
	c.Set("X-RateLimit-Reset", strconv.Itoa(seconds(count.Reset.Sub(now))))
}

// SetRetryAfter sets Retry-After to d in whole seconds, at least one.
func SetRetryAfter(c *fiber.Ctx, d time.Duration) {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(seconds(d)))
}

func seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
