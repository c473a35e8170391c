package handlers

import (
	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/web"
)

// registerForecasting adds the routes of forecasting beyond today's figures: targets and
// commit overrides (managers), history (snapshots and the waterfall), conversion and velocity.
// Every route is behind the login of /forecast (Register).
func (h *Handler) registerForecasting(app *fiber.App) {
	manage := web.RequireRole(models.RoleManager, models.RoleAdmin)
	app.Get("/forecast/targets", manage, h.TargetsPage)
	app.Post("/forecast/targets", manage, h.SaveTargets)
	app.Post("/forecast/overrides", manage, h.SaveOverride)
	app.Get("/forecast/history", h.History)
	app.Get("/forecast/history/deals", h.WaterfallDeals)
	app.Post("/forecast/snapshots", manage, h.TakeSnapshot)
	app.Get("/forecast/conversion", h.Conversion)
}
