package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// The custom fields admin page (models/customfields.go): define, change and remove fields.
// A change is live at once on this instance and within models.Store.CustomFieldsTTL on the
// others: nothing to restart or migrate.

func (h *Handler) renderCustomFields(c *fiber.Ctx, status int, msg string, form map[string]string) error {
	defs, err := h.Store.CustomFields(c.UserContext())
	if err != nil {
		return err
	}
	v := views.AdminCustomFieldsView{AdminView: adminView(c, "Custom fields", "custom-fields"),
		Groups: views.CustomFieldGroups(defs.Fields, models.Kinds), Kinds: models.Kinds, Form: form}
	v.Error = msg
	return web.Render(c, status, views.AdminCustomFieldsPage(v))
}

// AdminCustomFields lists the custom fields.
func (h *Handler) AdminCustomFields(c *fiber.Ctx) error {
	return h.renderCustomFields(c, fiber.StatusOK, "", map[string]string{})
}

// customFieldInput reads the add and edit forms.
func customFieldInput(c *fiber.Ctx) models.CustomFieldInput {
	return models.CustomFieldInput{EntityType: c.FormValue("entity_type"), Label: c.FormValue("label"), Kind: c.FormValue("kind"),
		Choices: strings.Split(strings.ReplaceAll(c.FormValue("choices"), "\r", ""), "\n"), LinkTarget: c.FormValue("link_target"),
		OnCard: formFlag(c, "on_card"), InExport: formFlag(c, "in_export")}
}

// AdminAddCustomField defines a field; a refusal shows the page again with what was typed.
func (h *Handler) AdminAddCustomField(c *fiber.Ctx) error {
	if _, err := h.Store.DefineCustomField(c.UserContext(), customFieldInput(c), web.ActorOf(c)); err != nil {
		form := map[string]string{}
		for _, k := range []string{"entity_type", "label", "kind", "choices", "link_target", "on_card", "in_export"} {
			form[k] = c.FormValue(k)
		}
		return refused(err, func(msg string, status int) error { return h.renderCustomFields(c, status, msg, form) })
	}
	return c.Redirect("/admin/custom-fields", fiber.StatusSeeOther)
}

// AdminSaveCustomField changes a field's label, choices and where it shows.
func (h *Handler) AdminSaveCustomField(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.UpdateCustomField(c.UserContext(), id, customFieldInput(c), web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderCustomFields(c, status, msg, map[string]string{}) })
	}
	return c.Redirect("/admin/custom-fields", fiber.StatusSeeOther)
}

// AdminRemoveCustomField removes a field and its values.
func (h *Handler) AdminRemoveCustomField(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.RemoveCustomField(c.UserContext(), id, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderCustomFields(c, status, msg, map[string]string{}) })
	}
	return c.Redirect("/admin/custom-fields", fiber.StatusSeeOther)
}
