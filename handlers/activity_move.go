package handlers

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// MoveActivity moves a card of any kind by drag (with neighbours) or by the "Move to" control
// (to the top of the chosen column). Both are models.Store.MoveActivity; the answer re-renders
// the two columns out of band, or redirects a plain form post back to the board.
func (h *Handler) MoveActivity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	phaseID, err := optionalID(c.FormValue("phase_id"), "phase")
	if err != nil {
		return err
	}
	if phaseID == nil {
		return badRequest("Choose the phase to move the card to.")
	}
	after, err := optionalID(c.FormValue("after_id"), "card above")
	if err != nil {
		return err
	}
	before, err := optionalID(c.FormValue("before_id"), "card below")
	if err != nil {
		return err
	}
	seen, err := optionalVersion(c.FormValue("version"))
	if err != nil {
		return err
	}
	f, err := h.filterOfMove(c)
	if err != nil {
		return err
	}
	res, err := h.Store.MoveActivity(c.UserContext(), id, *phaseID, after, before, seen, web.ActorOf(c))
	if errors.Is(err, models.ErrVersionConflict) && web.IsHTMX(c) {
		return h.staleMove(c, f, id, *phaseID)
	}
	if err != nil {
		return err
	}
	f.PipelineID = res.Activity.PipelineID
	if !web.IsHTMX(c) {
		return backToBoard(c, f)
	}
	if err := h.moveAnswer(c, f, res); err != nil {
		return h.afterCommit(c, err, "Moved “"+res.Activity.Subject+"”.")
	}
	return nil
}

// optionalVersion reads the version a page saw ("" when the page sent none).
func optionalVersion(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return nil, badRequest("The card's version is not a number.")
	}
	return &n, nil
}

// staleMove answers a move made from a stale page: 409, with the card's real column, the
// column it was dropped on and the one it was dragged from re-rendered out of band (so it is
// shown once, where it is), and the message says who changed it. Nothing was written.
func (h *Handler) staleMove(c *fiber.Ctx, f models.BoardFilter, id, dropped uuid.UUID) error {
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err // gone, or no longer visible: 404 says so
	}
	f.PipelineID = a.PipelineID
	limits := map[uuid.UUID]int{a.PhaseID: renderedCount(c, "to_count"), dropped: renderedCount(c, "to_count")}
	if from, err := optionalID(c.FormValue("from_phase"), "column"); err == nil && from != nil {
		limits[*from] = max(limits[*from], renderedCount(c, "from_count"))
	}
	cols, err := h.shownColumns(c, f, limits)
	if err != nil {
		return err
	}
	msg := h.changedBy(c, a) + " changed “" + a.Subject + "” after this page showed it, so it was not moved."
	if col, err := models.FindColumn(cols, a.PhaseID); err == nil {
		msg += " It is in " + col.Phase.Name + "."
	}
	c.Set("X-Phaseboard-Message", url.QueryEscape(msg)) // static/app.js shows it in #flash
	c.Status(fiber.StatusConflict)
	return h.renderColumns(c, f, cols, msg, limits)
}

// changedBy names who made the newest change of a ("Someone else" when the feed cannot say).
func (h *Handler) changedBy(c *fiber.Ctx, a *models.Activity) string {
	if _, name, err := h.Store.LastChange(c.UserContext(), a.ID); err == nil && name != "" {
		return name
	}
	return "Someone else"
}

// moveAnswer renders a committed move: both columns, the announcement and, for a deal that was
// lost, the lost-reason prompt.
func (h *Handler) moveAnswer(c *fiber.Ctx, f models.BoardFilter, res *models.MoveResult) error {
	opp := res.Activity
	limits := map[uuid.UUID]int{res.FromPhaseID: renderedCount(c, "from_count"), res.ToPhaseID: renderedCount(c, "to_count")}
	if res.FromPhaseID == res.ToPhaseID {
		limits[res.ToPhaseID] = max(limits[res.ToPhaseID], renderedCount(c, "from_count"))
	}
	cols, err := h.shownColumns(c, f, limits)
	if err != nil {
		return err
	}
	phase, err := models.FindColumn(cols, res.ToPhaseID)
	if err != nil {
		return err
	}
	msg := "Moved “" + opp.Subject + "” to " + phase.Phase.Name + "."
	if res.FromPhaseID == res.ToPhaseID {
		msg = "Reordered “" + opp.Subject + "” in " + phase.Phase.Name + "."
	}
	var extra []templComponent
	if res.NeedsLostReason {
		prompt, err := h.lostPrompt(c, opp, filterQuery(f))
		if err != nil {
			return err
		}
		extra = append(extra, views.PanelOOB(views.LostPanel(prompt)))
	} else if c.FormValue("source") == "form" {
		extra = append(extra, views.PanelOOB(nil)) // the move was made in the panel: done with it
	}
	if c.FormValue("placed") == "1" {
		if done, err := h.placedMoveAnswer(c, f, cols, res, msg, extra); done || err != nil {
			return err
		}
	}
	return h.renderColumns(c, f, cols, msg, limits, extra...)
}

// placedMoveAnswer answers a move that the page has already shown (a drag or an Alt+Arrow move:
// static/app.js sends placed=1 when the card stays in a column of the board) with what the move
// changed and the page cannot know: the card itself (its version, marks, amounts) and both
// columns' headers. The other cards are where the page has them, so re-rendering both columns
// (up to a thousand cards) would only repeat them. It reports false, having sent nothing, when
// the board's filter no longer shows the card: then the columns are re-rendered.
func (h *Handler) placedMoveAnswer(c *fiber.Ctx, f models.BoardFilter, cols []models.Column, res *models.MoveResult, msg string, extra []templComponent) (bool, error) {
	card, err := h.Store.CardOn(c.UserContext(), f, res.Activity.ID)
	if err != nil || card == nil {
		return false, err
	}
	parts, err := h.cardInPlace(c, f, cols, card, res.FromPhaseID, res.ToPhaseID)
	if err != nil {
		return false, err
	}
	parts = append(parts, views.Announce(msg))
	parts = append(parts, extra...)
	return true, web.Render(c, fiber.StatusOK, joinComponents(parts...))
}

// cardInPlace is a card the page already shows where it is, re-rendered out of band (its
// version, marks, amounts), and the headers of the board's columns of phases, whose figures the
// change moved: the answer to a drag and to a saved edit.
func (h *Handler) cardInPlace(c *fiber.Ctx, f models.BoardFilter, cols []models.Column, card *models.Card, phases ...uuid.UUID) ([]templComponent, error) {
	b, err := h.boardCards(c, f, phasesOf(cols))
	if err != nil {
		return nil, err
	}
	if err := h.withCustom(c, b, card.ID); err != nil {
		return nil, err
	}
	one := []models.Card{*card}
	b.usual.Mark(one, b.now)
	parts := []templComponent{views.BoardCard(b.phaseCard(one[0]), true)}
	for _, col := range visibleColumns(f, cols) {
		if slices.Contains(phases, col.Phase.ID) {
			parts = append(parts, views.BoardColumnHeader(b.phaseColumn(col, nil, false), true))
		}
	}
	return parts, nil
}

// MovePanel is a card's "Move to" on demand: the panel, or a page without JavaScript.
func (h *Handler) MovePanel(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	m, err := h.phaseMoves(c, a)
	if err != nil {
		return err
	}
	return h.renderMovePanel(c, m)
}

func (h *Handler) lostPrompt(c *fiber.Ctx, opp *models.Activity, query string) (views.LostPrompt, error) {
	reasons, err := h.Store.LostReasons(c.UserContext())
	if err != nil {
		return views.LostPrompt{}, err
	}
	rivals, err := h.Store.Competitors(c.UserContext())
	if err != nil {
		return views.LostPrompt{}, err
	}
	return views.LostPrompt{ID: opp.ID.String(), Subject: opp.Subject, Reasons: reasons, Competitors: rivals, Query: query, CSRF: web.CSRFToken(c)}, nil
}

// SaveLostReason records why a deal was lost (and to whom).
func (h *Handler) SaveLostReason(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	reason, err := optionalID(c.FormValue("lost_reason"), "lost reason")
	if err != nil {
		return err
	}
	if reason == nil { // the prompt preselects nothing: a hurried Save must not record a reason
		return fiber.NewError(fiber.StatusUnprocessableEntity, "Choose why the deal was lost, or skip.")
	}
	rival, err := optionalID(c.FormValue("competitor"), "competitor")
	if err != nil {
		return err
	}
	ch := models.ActivityChanges{LostReasonID: reason, LostToCompetitorID: rival}
	if rival == nil {
		ch.LostToCompetitorID = &uuid.Nil
	}
	f, err := h.filterOfMove(c)
	if err != nil {
		return err
	}
	// The reason and the optional note are one change: a refused note records no reason.
	note := strings.TrimSpace(c.FormValue("note"))
	var res *models.MoveResult
	err = h.Store.InTx(c.UserContext(), func(ctx context.Context) error {
		var err error
		if res, err = h.Store.UpdateActivity(ctx, id, ch, web.ActorOf(c)); err != nil || note == "" {
			return err
		}
		_, err = h.Store.SaveNote(ctx, nil, models.NoteChanges{ActivityID: &id, Content: &note}, web.ActorOf(c))
		return err
	})
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		f.PipelineID = res.Activity.PipelineID
		return backToBoard(c, f)
	}
	return web.Render(c, fiber.StatusOK, views.Announce("Saved why “"+res.Activity.Subject+"” was lost."))
}
