package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

func (h *Handler) renderLostReasons(c *fiber.Ctx, status int, msg string) error {
	rs, err := h.Store.AdminLostReasons(c.UserContext())
	if err != nil {
		return err
	}
	v := views.AdminLostReasonsView{AdminView: adminView(c, "Lost reasons", "lost-reasons"), Reasons: rs}
	v.Error = msg
	return web.Render(c, status, views.AdminLostReasonsPage(v))
}

// AdminLostReasons lists the lost reasons.
func (h *Handler) AdminLostReasons(c *fiber.Ctx) error {
	return h.renderLostReasons(c, fiber.StatusOK, "")
}

// AdminAddLostReason adds a lost reason.
func (h *Handler) AdminAddLostReason(c *fiber.Ctx) error {
	if _, err := h.Store.CreateLostReason(c.UserContext(), c.FormValue("name"), web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderLostReasons(c, status, msg) })
	}
	return c.Redirect("/admin/lost-reasons", fiber.StatusSeeOther)
}

func (h *Handler) lostReasonAction(c *fiber.Ctx, change func(id uuid.UUID, a models.Actor) error) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := change(id, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderLostReasons(c, status, msg) })
	}
	return c.Redirect("/admin/lost-reasons", fiber.StatusSeeOther)
}

// AdminRenameLostReason renames a lost reason.
func (h *Handler) AdminRenameLostReason(c *fiber.Ctx) error {
	return h.lostReasonAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.RenameLostReason(c.UserContext(), id, c.FormValue("name"), a)
	})
}

// AdminSetLostReasonActive archives or restores a lost reason.
func (h *Handler) AdminSetLostReasonActive(c *fiber.Ctx) error {
	return h.lostReasonAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.SetLostReasonActive(c.UserContext(), id, formFlag(c, "active"), a)
	})
}
