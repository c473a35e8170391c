package handlers

import (
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// AddNote adds a note to an activity from its edit panel (CSRF and origin are checked by
// web.New, the activity's edit rule by the Store). A refused note comes back in the panel with
// what was typed and why; an added one shows in the panel's list.
func (h *Handler) AddNote(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	content, pinned := c.FormValue("note"), c.FormValue("pinned") == "1"
	_, err = h.Store.SaveNote(c.UserContext(), nil, models.NoteChanges{ActivityID: &id, Content: &content, IsPinned: &pinned}, web.ActorOf(c))
	var derr *models.Error
	if errors.As(err, &derr) && derr.Code == models.EInvalid {
		form, ferr := h.activityForm(c, a, backURL(c, ""), a.Version)
		if ferr != nil {
			return ferr
		}
		form.Values["note"], form.Errors["note"] = content, derr.Message
		return h.renderForm(c, fiber.StatusBadRequest, form)
	}
	if err != nil {
		return err
	}
	form, err := h.activityForm(c, a, backURL(c, ""), a.Version)
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		return c.Redirect("/board/activities/"+id.String()+"/edit?back="+url.QueryEscape(form.Back), fiber.StatusSeeOther)
	}
	return web.Render(c, fiber.StatusOK, joinComponents(views.EditPanel(form), views.Announce("Note added.")))
}

// panelNotes are an activity's notes as the panel lists them.
func (h *Handler) panelNotes(c *fiber.Ctx, a *models.Activity) ([]views.NoteItem, error) {
	notes, err := h.Store.Notes(c.UserContext(), a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]views.NoteItem, len(notes))
	for i, n := range notes {
		at := n.CreationDate.UTC()
		out[i] = views.NoteItem{Content: n.Content, Pinned: n.IsPinned, When: at.Format("2 Jan 2006, 15:04"), Datetime: at.Format(time.RFC3339), By: n.Author}
	}
	return out, nil
}
