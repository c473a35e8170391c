package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// registerAdmin adds the admin pages: plain forms that post and redirect back (303), or
// re-render the page with the problem when the domain refuses. Admins only; the domain checks
// the role again on every change.
func registerAdmin(app *fiber.App, h *Handler) {
	g := app.Group("/admin", web.RequireRole(models.RoleAdmin))
	g.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/admin/users", fiber.StatusSeeOther) })
	g.Get("/users", h.AdminUsers)
	g.Post("/users", h.AdminAddUser)
	g.Post("/users/:id/role", h.AdminSetRole)
	g.Post("/users/:id/active", h.AdminSetUserActive)
	g.Get("/clients", h.AdminClients)
	g.Post("/clients", h.AdminAddClient)
	g.Post("/clients/:id/revoke", h.AdminRevokeClient)
	g.Get("/clients/:id", h.AdminClient)
	g.Post("/clients/:id/redirect-uris", h.AdminSetRedirectURIs)
	g.Post("/clients/:id/grants/:grant/revoke", h.AdminRevokeGrant)
	g.Get("/webhooks", h.AdminWebhooks)
	g.Post("/webhooks", h.AdminAddWebhook)
	g.Get("/webhooks/:id", h.AdminWebhook)
	g.Post("/webhooks/:id/delete", h.AdminDeleteWebhook)
	g.Post("/webhooks/:id/retry", h.AdminRetryWebhook)
	g.Get("/pipelines", h.AdminPipelines)
	g.Post("/pipelines", h.AdminAddPipeline)
	g.Get("/pipelines/:id", h.AdminPhases)
	g.Post("/pipelines/:id", h.AdminRenamePipeline)
	g.Post("/pipelines/:id/move", h.AdminMovePipeline)
	g.Post("/pipelines/:id/active", h.AdminSetPipelineActive)
	g.Post("/pipelines/:id/phases", h.AdminAddPhase)
	g.Post("/phases/:id", h.AdminSavePhase)
	g.Post("/phases/:id/move", h.AdminMovePhase)
	g.Post("/phases/:id/restore", h.AdminRestorePhase)
	g.Get("/phases/:id/retire", h.AdminRetirePhaseForm)
	g.Post("/phases/:id/retire", h.AdminRetirePhase)
	g.Get("/lost-reasons", h.AdminLostReasons)
	g.Post("/lost-reasons", h.AdminAddLostReason)
	g.Post("/lost-reasons/:id", h.AdminRenameLostReason)
	g.Post("/lost-reasons/:id/active", h.AdminSetLostReasonActive)
	g.Get("/custom-fields", h.AdminCustomFields)
	g.Post("/custom-fields", h.AdminAddCustomField)
	g.Post("/custom-fields/:id", h.AdminSaveCustomField)
	g.Post("/custom-fields/:id/remove", h.AdminRemoveCustomField)
	g.Get("/currencies", h.AdminCurrencies)
	g.Post("/currencies/reporting", h.AdminSetReportingCurrency)
	g.Post("/currencies/rates", h.AdminAddRate)
	g.Post("/currencies/rates/delete", h.AdminDeleteRate)
	g.Post("/currencies/import", h.AdminImportRates)
}

func adminView(c *fiber.Ctx, title, section string) views.AdminView {
	return views.AdminView{Page: page(c, title, "admin"), Section: section}
}

// adminID parses an admin route's :id.
func adminID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, fiber.NewError(fiber.StatusNotFound, "No such item.")
	}
	return id, nil
}

// refused re-renders an admin page with a domain error's message and status; other errors go to
// the error handler (logged, generic message).
func refused(err error, render func(msg string, status int) error) error {
	if models.ErrorCode(err) == models.EInternal {
		return err
	}
	return render(models.ErrorMessage(err), web.StatusOf(err))
}

// formFlag reads a 0/1 form field.
func formFlag(c *fiber.Ctx, name string) bool { return c.FormValue(name) == "1" }

func actorUserID(c *fiber.Ctx) uuid.UUID {
	if u := web.CurrentUser(c); u != nil {
		return u.ID
	}
	return uuid.Nil
}
