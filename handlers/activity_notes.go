package handlers

import (
	"errors"
	"net/url"
	"slices"
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
	return h.notesChanged(c, a, "Note added.")
}

// PinNote pins or unpins (form field pinned: 1 or 0) one of an activity's notes from its edit
// panel; DeleteNote deletes one. The Store allows it to the note's author, a manager or an
// administrator among those who may edit the activity (models.MayChangeNote); CSRF and origin
// are checked by web.New. A note that is not the activity's, or not visible, is a 404.
func (h *Handler) PinNote(c *fiber.Ctx) error {
	if v := c.FormValue("pinned"); v != "1" && v != "0" {
		return badRequest("Say whether to pin the note: pinned=1 or pinned=0.")
	}
	return h.changeNote(c, func(n *models.NoteView, actor models.Actor) (string, error) {
		pinned := formFlag(c, "pinned")
		_, err := h.Store.SaveNote(c.UserContext(), &n.ID, models.NoteChanges{IsPinned: &pinned}, actor)
		if pinned {
			return "Note pinned.", err
		}
		return "Note unpinned.", err
	})
}

// DeleteNote deletes one of an activity's notes from its edit panel (see PinNote).
func (h *Handler) DeleteNote(c *fiber.Ctx) error {
	return h.changeNote(c, func(n *models.NoteView, actor models.Actor) (string, error) {
		return "Note deleted.", h.Store.DeleteNote(c.UserContext(), n.ID, actor)
	})
}

// changeNote finds the note of the route among the activity's notes its caller may read, applies
// change and answers with the panel and what change announces.
func (h *Handler) changeNote(c *fiber.Ctx, change func(*models.NoteView, models.Actor) (string, error)) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	noteID, err := pathID(c, "note")
	if err != nil {
		return err
	}
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	notes, err := h.Store.Notes(c.UserContext(), id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(notes, func(n models.NoteView) bool { return n.ID == noteID })
	if i < 0 {
		return models.Errorf(models.ENotFound, "That note does not exist.")
	}
	announce, err := change(&notes[i], web.ActorOf(c))
	if err != nil {
		return err
	}
	return h.notesChanged(c, a, announce)
}

// notesChanged answers a change of an activity's notes: the panel again, with announce said to
// screen readers, or without JavaScript the edit page.
func (h *Handler) notesChanged(c *fiber.Ctx, a *models.Activity, announce string) error {
	form, err := h.activityForm(c, a, backURL(c, ""), a.Version)
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		return c.Redirect("/board/activities/"+a.ID.String()+"/edit?back="+url.QueryEscape(form.Back), fiber.StatusSeeOther)
	}
	return web.Render(c, fiber.StatusOK, joinComponents(views.EditPanel(form), views.Announce(announce)))
}

// panelNotes are an activity's notes as the panel lists them.
func (h *Handler) panelNotes(c *fiber.Ctx, a *models.Activity) ([]views.NoteItem, error) {
	notes, err := h.Store.Notes(c.UserContext(), a.ID)
	if err != nil {
		return nil, err
	}
	actor := web.ActorOf(c)
	mayEdit := models.CanEditActivity(actor, a)
	out := make([]views.NoteItem, len(notes))
	for i, n := range notes {
		at := n.CreationDate.UTC()
		out[i] = views.NoteItem{ID: n.ID.String(), Content: n.Content, Pinned: n.IsPinned, When: at.Format("2 Jan 2006, 15:04"),
			Datetime: at.Format(time.RFC3339), By: n.Author, MayChange: mayEdit && models.MayChangeNote(actor, &n.Note)}
	}
	return out, nil
}
