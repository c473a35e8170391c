package handlers

import (
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// Board renders the pipeline board for the filter in the URL.
func (h *Handler) Board(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	pipelines, err := h.Store.Pipelines(c.UserContext())
	if err != nil {
		return err
	}
	f, err := h.boardFilter(c, v, func() ([]models.Pipeline, error) { return pipelines, nil })
	if err != nil {
		return err
	}
	view, err := h.boardView(c, f, pipelines)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.BoardPage(view))
}

// boardView loads the board f of one of the active pipelines.
func (h *Handler) boardView(c *fiber.Ctx, f models.BoardFilter, pipelines []models.Pipeline) (views.BoardView, error) {
	ctx := c.UserContext()
	known := false
	for _, p := range pipelines {
		known = known || p.ID == f.PipelineID
	}
	if !known {
		return views.BoardView{}, fiber.NewError(fiber.StatusNotFound, "That pipeline does not exist.")
	}
	reps, err := h.Store.Employees(ctx)
	if err != nil {
		return views.BoardView{}, err
	}
	// The feed id this page is current to, read before the board: its live stream resumes
	// after it (a change in between arrives twice, which re-renders a column once more).
	last, err := h.Store.Feed().Latest(ctx)
	if err != nil {
		return views.BoardView{}, err
	}
	cols, err := h.Store.Columns(ctx, f)
	if err != nil {
		return views.BoardView{}, err
	}
	b, err := h.boardCards(c, f, phasesOf(cols))
	if err != nil {
		return views.BoardView{}, err
	}
	view := views.BoardView{Page: fillPage(c, "Board", "board"), Pipelines: pipelines, Reps: reps, Filter: f, Query: b.query,
		Live:  "/board/events?" + b.query + "&last=" + strconv.FormatInt(last, 10),
		Board: views.Board{TestID: "board"}, QuickAdd: views.QuickAdd{Noun: b.kind.Noun, Sales: b.kind.Sales, AmountField: "amount",
			CSRF: b.csrf, Return: b.query}}
	if b.kind.Sales {
		view.QuickAdd.Noun, view.QuickAdd.AmountField = "deal", "estimated_amount"
	}
	for _, col := range visibleColumns(f, cols) {
		cv, err := h.columnView(c, f, col, models.CardPageSize, b)
		if err != nil {
			return views.BoardView{}, err
		}
		view.Board.Columns = append(view.Board.Columns, cv)
	}
	for _, col := range cols {
		if !col.Phase.IsTerminal {
			view.QuickAdd.Phases = append(view.QuickAdd.Phases, views.Option{Value: col.Phase.ID.String(), Label: col.Phase.Name})
		}
	}
	view.Board.Drops = b.dropTargets(cols)
	if empty := true; len(view.Board.Columns) > 0 {
		for _, col := range view.Board.Columns {
			empty = empty && col.Count == 0
		}
		if empty {
			view.Board.Empty = "Nothing matches these filters."
		}
	}
	if view.Views, err = h.savedViews(c, models.SavedViewBoard, "/board", b.query); err != nil {
		return views.BoardView{}, err
	}
	customers, err := h.Store.Relationships(ctx)
	if err != nil {
		return views.BoardView{}, err
	}
	for _, r := range customers {
		view.QuickAdd.Customers = append(view.QuickAdd.Customers, r.Name)
	}
	return view, nil
}

// MoreCards answers "Load more" with the cards after the last one shown.
func (h *Handler) MoreCards(c *fiber.Ctx) error {
	phaseID, err := uuid.Parse(c.Params("phase"))
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "No such column.")
	}
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, err := h.filterFromValues(c, v)
	if err != nil {
		return err
	}
	after, err := optionalID(v.Get("after"), "last card")
	if err != nil {
		return err
	}
	cards, err := h.Store.Cards(c.UserContext(), f, phaseID, after, models.CardPageSize+1)
	if err != nil {
		return err
	}
	more := len(cards) > models.CardPageSize
	if more {
		cards = cards[:models.CardPageSize]
	}
	phases, err := h.Store.Phases(c.UserContext(), f.PipelineID)
	if err != nil {
		return err
	}
	b, err := h.boardCards(c, f, phases)
	if err != nil {
		return err
	}
	if err := h.withCustom(c, b, cardIDs(cards)...); err != nil {
		return err
	}
	page, next := b.phaseCards(phaseID, cards, more)
	return web.Render(c, fiber.StatusOK, views.CardsPage(page, next))
}

// afterCommit answers a write that committed when showing its result failed: the change stands,
// so instead of an error that would say nothing was changed, the page reloads to show the true
// state (htmx follows HX-Refresh) and the announcement says what was saved.
func (h *Handler) afterCommit(c *fiber.Ctx, err error, saved string) error {
	slog.Error("a committed change could not be shown", "method", c.Method(), "path", c.Path(), "err", err)
	c.Response().ResetBody()
	c.Set("HX-Refresh", "true")
	return web.Render(c, fiber.StatusOK, views.Announce(saved+" The board could not refresh, so it reloads."))
}

// ClosePanel empties the side panel.
func (h *Handler) ClosePanel(c *fiber.Ctx) error {
	return c.Type("html").SendString("")
}

// renderedCount reads how many cards the browser shows in a column, so that the re-rendered
// column keeps them all (at least one page, at most 1000).
func renderedCount(c *fiber.Ctx, field string) int {
	n, _ := strconv.Atoi(c.FormValue(field))
	return min(max(n+1, models.CardPageSize), 1000)
}

// backToBoard redirects a plain (no-JavaScript) form post back to the board it came from.
func backToBoard(c *fiber.Ctx, f models.BoardFilter) error {
	return c.Redirect("/board?"+filterQuery(f), fiber.StatusSeeOther)
}

// refreshColumns renders the given columns out of band, plus an announcement.
func (h *Handler) refreshColumns(c *fiber.Ctx, f models.BoardFilter, announce string, limits map[uuid.UUID]int, extra ...templComponent) error {
	cols, err := h.shownColumns(c, f, limits)
	if err != nil {
		return err
	}
	return h.renderColumns(c, f, cols, announce, limits, extra...)
}

// shownColumns loads the board's columns for a refresh of the columns in limits, with figures
// only for those: a move's answer does not sum the whole board.
func (h *Handler) shownColumns(c *fiber.Ctx, f models.BoardFilter, limits map[uuid.UUID]int) ([]models.Column, error) {
	if err := h.refreshFault(); err != nil {
		return nil, err
	}
	shown := make([]uuid.UUID, 0, len(limits))
	for id := range limits {
		shown = append(shown, id)
	}
	return h.Store.Columns(c.UserContext(), f, shown...)
}

// renderColumns renders the columns of cols named in limits (with that many cards) out of band,
// the announcement and extra.
func (h *Handler) renderColumns(c *fiber.Ctx, f models.BoardFilter, cols []models.Column, announce string, limits map[uuid.UUID]int, extra ...templComponent) error {
	b, err := h.boardCards(c, f, phasesOf(cols))
	if err != nil {
		return err
	}
	var parts []templComponent
	for _, col := range visibleColumns(f, cols) {
		limit, ok := limits[col.Phase.ID]
		if !ok {
			continue
		}
		cv, err := h.columnView(c, f, col, limit, b)
		if err != nil {
			return err
		}
		parts = append(parts, views.BoardColumn(cv, true))
	}
	if announce != "" { // a live refresh says nothing: the mover's own message stays
		parts = append(parts, views.Announce(announce))
	}
	parts = append(parts, extra...)
	// 200, unless the handler said otherwise (a stale move's 409 shows the columns as they are).
	return web.Render(c, c.Response().StatusCode(), joinComponents(parts...))
}
