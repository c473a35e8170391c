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
	_, err := checkRate(c, store, window, false, rules)
	return err
}

// checkRate is CheckRate; write counts the request as a write (models.Store.HitWrite). It
// returns the first rule's count, with its key's last write.
func checkRate(c *fiber.Ctx, store *models.Store, window time.Duration, write bool, rules []RateRule) (models.RateCount, error) {
	keys := make([]string, len(rules))
	for i, r := range rules {
		keys[i] = r.Key
	}
	hit := store.Hit
	if write {
		hit = store.HitWrite
	}
	counts, err := hit(c.UserContext(), window, keys...)
	if err != nil {
		SetRetryAfter(c, unavailableRetry)
		return models.RateCount{}, err
	}
	now := store.Now()
	for i, r := range rules {
		wait := counts[i].Reset.Sub(now)
		if i == 0 {
			c.Set("X-RateLimit-Limit", strconv.Itoa(r.Max))
			c.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, r.Max-counts[i].Hits)))
			c.Set("X-RateLimit-Reset", strconv.Itoa(seconds(wait)))
		}
		if counts[i].Hits > r.Max {
			SetRetryAfter(c, wait)
			return counts[0], &RateLimited{RetryAfter: wait}
		}
	}
	return counts[0], nil
}

// SetRetryAfter sets Retry-After to d in whole seconds, at least one.
func SetRetryAfter(c *fiber.Ctx, d time.Duration) {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(seconds(d)))
}

func seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
