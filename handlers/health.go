package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Health answers 200 when the database answers a ping, 503 otherwise.
func (h *Handler) Health(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
	}
	// Replicas are reported, never fatal: without a usable one, reads go to the primary.
	if reps := h.Store.Replicas(); reps != nil {
		usable := 0
		for _, r := range reps {
			if r.Usable {
				usable++
			}
		}
		return c.JSON(fiber.Map{"status": "ok", "replicas": len(reps), "replicasUsable": usable})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}
