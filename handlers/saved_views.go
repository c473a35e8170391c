package handlers

import (
	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// Saved views: a user's named filters of the board and the forecast board (plain forms that
// redirect back).

// savedViews is the saved-views box of a board page of the logged-in user.
func (h *Handler) savedViews(c *fiber.Ctx, page, path, query string) (views.SavedViews, error) {
	v := views.SavedViews{Page: page, Path: path, Query: query, CSRF: web.CSRFToken(c)}
	u := web.CurrentUser(c)
	if u == nil {
		return v, nil
	}
	list, err := h.Store.SavedViews(c.UserContext(), u.ID, page)
	v.Views = list
	return v, err
}

// SaveView saves the current board's filter under a name and opens it.
func (h *Handler) SaveView(c *fiber.Ctx) error {
	u := web.CurrentUser(c)
	if u == nil {
		return fiber.NewError(fiber.StatusUnauthorized, "Log in to save a view.")
	}
	sv, err := h.Store.SaveView(c.UserContext(), u.ID, c.FormValue("page"), c.FormValue("name"), c.FormValue("query"))
	if err != nil {
		return err
	}
	path := "/board"
	if sv.Page == models.SavedViewForecastBoard {
		path = "/forecast/board"
	}
	return c.Redirect(path+"?"+sv.Query, fiber.StatusSeeOther)
}

// DeleteView deletes one of the user's saved views and goes back to the board.
func (h *Handler) DeleteView(c *fiber.Ctx) error {
	u := web.CurrentUser(c)
	if u == nil {
		return fiber.NewError(fiber.StatusUnauthorized, "Log in to change your views.")
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Store.DeleteView(c.UserContext(), u.ID, id); err != nil {
		return err
	}
	return c.Redirect(localURL(c.FormValue("back"), "/board"), fiber.StatusSeeOther)
}
