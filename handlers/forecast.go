package handlers

import (
	"encoding/csv"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// registerForecast adds the forecast's routes: the figures page, its CSV export and the
// forecast board (months as columns).
// Who sees what is models.ScopeForecast, applied in forecastFilter; moves pass the caller's
// actor, so models.CanEditOpportunity applies as on the pipeline board.
func (h *Handler) registerForecast(app *fiber.App) {
	// The figures, their export and pipeline health are the heavy reads: a read replica serves
	// them to whoever has not just written (web.ReplicaReads). Health is history over weeks, so
	// its fragment may come from a replica too; the forecast board is a board and stays on the
	// primary.
	app.Get("/forecast", web.ReplicaReads(h.Store, false), h.Forecast)
	app.Get("/forecast.csv", web.ReplicaReads(h.Store, false), h.ForecastCSV)
	app.Get("/forecast/health", web.ReplicaReads(h.Store, true), h.ForecastHealth)
	app.Get("/forecast/deals", web.ReplicaReads(h.Store, false), h.ForecastDeals)
	app.Get("/forecast/board", h.ForecastBoard)
	app.Get("/forecast/board/months/:month/cards", h.MoreMonthCards)
	app.Get("/forecast/board/opportunities/:id/move", h.MoveForecastCardPanel)
	app.Post("/forecast/board/opportunities/:id/move", h.MoveForecastCard)
	app.Post("/forecast/board/opportunities/:id/category", h.SetForecastCategory)
	h.registerForecasting(app)
}

// forecastFilter reads the forecast filter from a URL query: pipeline, rep, by (month or
// quarter), from and to (YYYY-MM). Missing values take the default (this quarter and the next
// three, by month). An unusable value gives the default filter and a message to show. What the
// figures cover is also limited by who asks (models.ReadScope, through the request context).
func (h *Handler) forecastFilter(c *fiber.Ctx, v url.Values) (models.ForecastFilter, string, error) {
	f := models.DefaultForecastFilter(h.today())
	pipeline, err := optionalID(v.Get("pipeline"), "pipeline")
	if err != nil {
		return f, "", err
	}
	rep, err := optionalID(v.Get("rep"), "rep")
	if err != nil {
		return f, "", err
	}
	f.PipelineID, f.RepID = pipeline, rep
	chosen := f
	if by := v.Get("by"); by != "" {
		chosen.By = by
	}
	for _, x := range []struct {
		name string
		dst  *models.Date
	}{{"from", &chosen.From}, {"to", &chosen.To}} {
		s := strings.TrimSpace(v.Get(x.name))
		if s == "" {
			continue
		}
		d, err := models.ParseMonthKey(s)
		if err != nil {
			return f, "The " + x.name + " month is not a month (YYYY-MM).", nil
		}
		*x.dst = d
	}
	n, err := chosen.Normalised()
	if err != nil {
		return f, models.ErrorMessage(err), nil
	}
	return n, "", nil
}

// today is the forecast's today, from the store's clock (UTC).
func (h *Handler) today() models.Date { return h.Store.Today() }

// forecastQuery encodes a filter as the forecast URL's query.
func forecastQuery(f models.ForecastFilter) string { return views.ForecastQuery(f) }

// queryValues parses the request's query string; a malformed one is a 400. Every page and fragment
// that reads its filter from the URL goes through it.
func queryValues(c *fiber.Ctx) (url.Values, error) {
	v, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return nil, badRequest("The URL is malformed.")
	}
	return v, nil
}

// rottingListSize is how many rotting opportunities the forecast page lists.
const rottingListSize = 20

// forecastView computes the forecast of the URL's filter.
// Pipeline health reads the whole move history, so the page loads it after the figures
// (withHealth false, then ForecastHealth); the CSV export holds both.
func (h *Handler) forecastView(c *fiber.Ctx, withHealth bool) (views.ForecastView, error) {
	v, err := queryValues(c)
	if err != nil {
		return views.ForecastView{}, err
	}
	f, msg, err := h.forecastFilter(c, v)
	if err != nil {
		return views.ForecastView{}, err
	}
	ctx := c.UserContext()
	src, today, snap, err := h.forecastSource(c, v)
	if err != nil {
		return views.ForecastView{}, err
	}
	live, err := h.liveURL(c, "/forecast?"+v.Encode())
	if err != nil {
		return views.ForecastView{}, err
	}
	fc, err := h.Store.ForecastFrom(ctx, src, f, today)
	if err != nil {
		return views.ForecastView{}, err
	}
	pipelines, err := h.Store.SalesPipelines(ctx)
	if err != nil {
		return views.ForecastView{}, err
	}
	reps, err := h.Store.Employees(ctx)
	if err != nil {
		return views.ForecastView{}, err
	}
	view := views.ForecastView{Page: page(c, "Forecast", "forecast"), Forecast: fc, Pipelines: pipelines, Reps: reps,
		Query: forecastQuery(fc.Filter), Error: msg, Chart: views.NewChart(fc), Live: live}
	if view.Snapshot = snap; snap != nil {
		view.Live = ""                                // a snapshot does not change
		view.Query += "&snapshot=" + snap.ID.String() // its links (CSV, periods) stay on the snapshot
	}
	if view.Targets, err = h.targetsSection(c, fc, v, view.Query); err != nil {
		return view, err
	}
	if view.LostByReason, view.LostByCompetitor, err = h.Store.LossAnalysis(ctx, fc.Filter); err != nil {
		return views.ForecastView{}, err
	}
	if withHealth {
		view.Health, view.Rotting, err = h.Store.PipelineHealth(ctx, models.HealthFilter{PipelineID: f.PipelineID, RepID: f.RepID}, h.Store.Now(), rottingListSize)
	}
	return view, err
}

// Forecast renders the forecast page for the filter in the URL.
func (h *Handler) Forecast(c *fiber.Ctx) error {
	view, err := h.forecastView(c, false)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.ForecastPage(view))
}

// ForecastHealth renders the pipeline health section of the forecast page: a fragment for the
// page's htmx request, a page of its own without JavaScript.
func (h *Handler) ForecastHealth(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, _, err := h.forecastFilter(c, v)
	if err != nil {
		return err
	}
	health, rotting, err := h.Store.PipelineHealth(c.UserContext(), models.HealthFilter{PipelineID: f.PipelineID, RepID: f.RepID}, h.Store.Now(), rottingListSize)
	if err != nil {
		return err
	}
	tables := views.HealthTables(health, rotting, &f)
	if web.IsHTMX(c) {
		return web.Render(c, fiber.StatusOK, views.HealthSection(tables))
	}
	return web.Render(c, fiber.StatusOK, views.Layout(page(c, "Pipeline health", "forecast"), views.HealthPage(tables)))
}

// ForecastCSV exports the tables of the forecast page for the same filter, from the same
// views.ForecastTables, so that the file holds exactly what the page shows.
func (h *Handler) ForecastCSV(c *fiber.Ctx) error {
	view, err := h.forecastView(c, true)
	if err != nil {
		return err
	}
	fc := view.Forecast
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="forecast-`+fc.Filter.From.Format("2006-01")+`-`+fc.Filter.To.Format("2006-01")+`.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	write := func(rec ...string) {
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		w.Write(rec)
	}
	write("Forecast", fc.Filter.From.Format("Jan 2006")+" – "+fc.Filter.To.Format("Jan 2006"), "as of "+fc.Today.String())
	if view.Error != "" {
		write("Note", view.Error+" The default range is shown.")
	}
	for _, t := range view.Tables() {
		write()
		write(t.Caption)
		head := append([]string{}, t.Head...)
		if hasNotes(t) {
			head = append(head, "Note")
		}
		write(head...)
		for _, r := range append(append([]views.TableRow{}, t.Rows...), t.Foot...) {
			rec := make([]string, 0, len(r.Cells)+1)
			for _, cell := range r.Cells {
				rec = append(rec, cell.Raw)
			}
			if hasNotes(t) {
				rec = append(rec, r.Note)
			}
			write(rec...)
		}
	}
	if err := h.exportCustomFields(c, fc, write); err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// exportCustomFields adds to the export, when an admin marked custom fields of opportunities
// for it, the deals the forecast counts (open in the range, won and lost in it) with those
// fields' values, one column each.
func (h *Handler) exportCustomFields(c *fiber.Ctx, fc *models.Forecast, write func(rec ...string)) error {
	defs, err := h.Store.CustomFields(c.UserContext())
	if err != nil {
		return err
	}
	fields := defs.InExport(models.SalesOpportunity.Type)
	if len(fields) == 0 {
		return nil
	}
	var deals []models.ForecastCard
	status := map[uuid.UUID]string{}
	for _, kind := range []string{"open", "won", "lost"} {
		for page, more := 1, true; more; page++ {
			some, err := h.Store.ForecastDeals(c.UserContext(), models.DealsFilter{ForecastFilter: fc.Filter, Kind: kind}, fc.Today, page)
			if err != nil {
				return err
			}
			for _, d := range some.Deals {
				status[d.ID] = kind
			}
			deals, more = append(deals, some.Deals...), some.More
		}
	}
	ids := make([]uuid.UUID, len(deals))
	for i, d := range deals {
		ids[i] = d.ID
	}
	values, err := h.Store.CustomDisplay(c.UserContext(), ids, fields)
	if err != nil {
		return err
	}
	write()
	write("Opportunities of the forecast, with their custom fields")
	head := []string{"Number", "Subject", "Customer", "Rep", "Status", "Expected order date", "Estimated"}
	for _, f := range fields {
		head = append(head, f.Label)
	}
	write(head...)
	for _, d := range deals {
		expected := ""
		if d.ExpectedOrderDate != nil {
			expected = d.ExpectedOrderDate.String()
		}
		rec := []string{d.Number, d.Subject, d.CustomerName, d.RepName, status[d.ID], expected, strconv.FormatFloat(d.EstimatedAmount, 'f', 2, 64)}
		for _, f := range fields {
			rec = append(rec, values[d.ID][f.ID])
		}
		write(rec...)
	}
	return nil
}

func hasNotes(t views.Table) bool {
	for _, r := range t.Foot {
		if r.Note != "" {
			return true
		}
	}
	return false
}

// csvSafe keeps a spreadsheet from reading a name as a formula (CSV injection); numbers, which
// may start with "-", are left alone.
func csvSafe(s string) string {
	if s == "" || strings.IndexByte("=+-@\t\r", s[0]) < 0 {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

// ---------------------------------------------------------------- the forecast board

// ForecastBoard renders the open opportunities as columns of months.
func (h *Handler) ForecastBoard(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	// The forecast board starts at the current month (earlier ones are the Overdue column).
	if v.Get("from") == "" {
		t := h.today()
		v.Set("from", models.PeriodKey(models.PeriodMonth, t))
		if v.Get("to") == "" {
			v.Set("to", models.PeriodKey(models.PeriodMonth, models.Date{Time: t.AddDate(0, 11, 0)}))
		}
	}
	f, msg, err := h.forecastFilter(c, v)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	live, err := h.liveURL(c, "/forecast/board?"+v.Encode())
	if err != nil {
		return err
	}
	months, err := h.Store.ForecastMonths(ctx, f)
	if err != nil {
		return err
	}
	b, err := h.forecastCards(c, f)
	if err != nil {
		return err
	}
	pipelines, err := h.Store.SalesPipelines(ctx)
	if err != nil {
		return err
	}
	reps, err := h.Store.Employees(ctx)
	if err != nil {
		return err
	}
	view := views.ForecastBoardView{Page: fillPage(c, "Forecast board", "forecast"), Filter: f, Pipelines: pipelines, Reps: reps,
		Query: b.query, Error: msg, Board: views.Board{TestID: "forecast-board"}, Live: live}
	if view.Views, err = h.savedViews(c, models.SavedViewForecastBoard, "/forecast/board", b.query); err != nil {
		return err
	}
	for _, bucket := range []string{models.BucketOverdue, models.BucketNoDate} {
		figures, err := h.Store.ForecastBucket(ctx, f, bucket, h.today())
		if err != nil {
			return err
		}
		months = append([]models.ForecastMonth{figures}, months...)
	}
	months[0], months[1] = months[1], months[0] // Overdue, No date, then the months
	for _, m := range months {
		col, err := h.monthColumn(c, f, m, models.CardPageSize, b)
		if err != nil {
			return err
		}
		view.Board.Columns = append(view.Board.Columns, col)
	}
	return web.Render(c, fiber.StatusOK, views.ForecastBoardPage(view))
}

// isBucket reports whether a forecast board column key is Overdue or No date (not a month).
func isBucket(key string) bool { return key == models.BucketOverdue || key == models.BucketNoDate }

// columnKey is the forecast board column an open opportunity with expected date d is in.
func columnKey(d *models.Date, today models.Date) string {
	switch {
	case d == nil:
		return models.BucketNoDate
	case d.Before(today.Time):
		return models.BucketOverdue
	}
	return models.PeriodKey(models.PeriodMonth, *d)
}

// forecastCards is the forecast board's cardContext: the months of the range (the move form's
// choices: from the filter, no query) and the phases' default categories.
func (h *Handler) forecastCards(c *fiber.Ctx, f models.ForecastFilter) (*cardContext, error) {
	var months []models.ForecastMonth
	f.By = models.PeriodMonth
	if n, err := f.Normalised(); err == nil {
		for _, p := range n.Periods() {
			months = append(months, models.ForecastMonth{Key: p.Key, Label: p.Label, Start: p.Start, End: p.End})
		}
	}
	pipelines, err := h.Store.SalesPipelines(c.UserContext())
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(pipelines))
	for i, p := range pipelines {
		ids[i] = p.ID
	}
	byPipeline, err := h.Store.PhasesByPipeline(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	categories := map[uuid.UUID]string{}
	for _, phases := range byPipeline {
		for _, ph := range phases {
			categories[ph.ID] = ph.ForecastCategory
		}
	}
	q := forecastQuery(f)
	return &cardContext{kind: models.SalesOpportunity, actor: web.ActorOf(c), csrf: web.CSRFToken(c), query: q, back: "/forecast/board?" + q, now: h.Store.Now(), today: h.today(),
		months: months, phaseCategories: categories}, nil
}

// monthCard is a card of the forecast board, with its forecast category.
func (b *cardContext) monthCard(c models.ForecastCard) views.Card {
	v := b.card(c.Card, "/forecast/board/opportunities/"+c.ID.String()+"/move")
	title := "Forecast category"
	if !c.CategoryIsOwn {
		title += " (its phase's)"
	}
	v.Marks = append(v.Marks, views.Mark{Class: "category", Text: views.CategoryName(c.ForecastCategory), TestID: "card-category", Title: title})
	return v
}

// MoveForecastCardPanel is a forecast card's "Move to" (another month) and its forecast
// category, on demand: the panel, or a page without JavaScript.
func (h *Handler) MoveForecastCardPanel(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	card, err := h.Store.ForecastCard(c.UserContext(), id)
	if err != nil {
		return err
	}
	back := backURL(c, "/forecast/board")
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	if q := queryOf(back); q != "" {
		v, _ = url.ParseQuery(q)
	}
	f, _, err := h.forecastFilter(c, v)
	if err != nil {
		return err
	}
	b, err := h.forecastCards(c, f)
	if err != nil {
		return err
	}
	m := views.MovePanel{CardID: id.String(), Version: card.Version, Subject: card.Subject, CSRF: b.csrf, Back: back, Return: b.query, FullPage: !web.IsHTMX(c),
		Move: views.Choice{URL: "/forecast/board/opportunities/" + id.String() + "/move", Name: "month", Label: "Move to the month"}}
	for _, mo := range b.months {
		m.Move.Options = append(m.Move.Options, views.Option{Value: mo.Key, Label: mo.Label,
			Selected: card.ExpectedOrderDate != nil && models.PeriodKey(models.PeriodMonth, *card.ExpectedOrderDate) == mo.Key})
	}
	m.Move.Options = append(m.Move.Options, views.Option{Value: models.BucketNoDate, Label: "No date", Selected: card.ExpectedOrderDate == nil})
	cat := &views.Choice{URL: "/forecast/board/opportunities/" + id.String() + "/category", Name: "forecast_category", Label: "Forecast category",
		Button: "Set category", Hidden: [][2]string{{"version", strconv.Itoa(card.Version)}}}
	cat.Options = append(cat.Options, views.Option{Value: "", Label: "As its phase (" + views.CategoryName(b.phaseCategories[card.PhaseID]) + ")", Selected: !card.CategoryIsOwn})
	for _, name := range models.ForecastCategories {
		cat.Options = append(cat.Options, views.Option{Value: name, Label: views.CategoryName(name), Selected: card.CategoryIsOwn && card.ForecastCategory == name})
	}
	m.Category = cat
	return h.renderMovePanel(c, m)
}

// renderMovePanel answers a "Move to" request: the panel for htmx, else a page.
func (h *Handler) renderMovePanel(c *fiber.Ctx, m views.MovePanel) error {
	if m.FullPage {
		return web.Render(c, fiber.StatusOK, views.MovePage(page(c, "Move “"+m.Subject+"”", "board"), m))
	}
	return web.Render(c, fiber.StatusOK, views.MovePanelView(m))
}

// monthColumn loads a column's first limit cards: a month's, Overdue's or No date's.
func (h *Handler) monthColumn(c *fiber.Ctx, f models.ForecastFilter, m models.ForecastMonth, limit int, b *cardContext) (views.Column, error) {
	cards, err := h.columnCards(c, f, m.Key, nil, limit+1)
	if err != nil {
		return views.Column{}, err
	}
	more := len(cards) > limit
	if more {
		cards = cards[:limit]
	}
	if err := h.withCustom(c, b, forecastCardIDs(cards)...); err != nil {
		return views.Column{}, err
	}
	col := views.Column{DOMID: "month-" + m.Key, Title: m.Label, Count: m.Count,
		Figures: []views.Figure{{Label: "Estimated", Value: views.MoneyIn(m.Estimated, m.Currency), TestID: "column-estimated"},
			{Label: "Weighted", Value: views.MoneyIn(m.Weighted, m.Currency), TestID: "column-weighted", NoRate: m.NoRate}},
		Drop: views.Drop{URL: "/forecast/board/opportunities/{id}/move", Name: "month", Value: m.Key}}
	if m.Key == models.BucketOverdue {
		col.Drop = views.Drop{} // a card cannot be moved into the past: it takes no drops
		col.Outcome, col.OutcomeText = "lost", "past"
	}
	col.Cards, col.MoreURL = b.monthCards(m.Key, cards, more)
	return col, nil
}

// columnCards are up to limit cards of a forecast board column after the card after.
func (h *Handler) columnCards(c *fiber.Ctx, f models.ForecastFilter, key string, after *uuid.UUID, limit int) ([]models.ForecastCard, error) {
	if isBucket(key) {
		return h.Store.ForecastBucketCards(c.UserContext(), f, key, h.today(), after, limit)
	}
	month, err := models.ParseMonthKey(key)
	if err != nil {
		return nil, fiber.NewError(fiber.StatusNotFound, "No such month.")
	}
	return h.Store.ForecastCards(c.UserContext(), f, month, after, limit)
}

// forecastCardIDs are the IDs of cards.
func forecastCardIDs(cards []models.ForecastCard) []uuid.UUID {
	ids := make([]uuid.UUID, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	return ids
}

// monthCards are a month's cards and the URL of the next page ("" when none).
func (b *cardContext) monthCards(key string, cards []models.ForecastCard, more bool) ([]views.Card, string) {
	out := make([]views.Card, len(cards))
	for i, c := range cards {
		out[i] = b.monthCard(c)
	}
	next := ""
	if more && len(cards) > 0 {
		next = "/forecast/board/months/" + key + "/cards?after=" + cards[len(cards)-1].ID.String() + "&" + b.query
	}
	return out, next
}

// MoreMonthCards answers a month's "Load more".
func (h *Handler) MoreMonthCards(c *fiber.Ctx) error {
	key := c.Params("month")
	if !isBucket(key) {
		month, err := models.ParseMonthKey(key)
		if err != nil {
			return fiber.NewError(fiber.StatusNotFound, "No such month.")
		}
		key = models.PeriodKey(models.PeriodMonth, month)
	}
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, _, err := h.forecastFilter(c, v)
	if err != nil {
		return err
	}
	after, err := optionalID(v.Get("after"), "last card")
	if err != nil {
		return err
	}
	cards, err := h.columnCards(c, f, key, after, models.CardPageSize+1)
	if err != nil {
		return err
	}
	more := len(cards) > models.CardPageSize
	if more {
		cards = cards[:models.CardPageSize]
	}
	b, err := h.forecastCards(c, f)
	if err != nil {
		return err
	}
	if err := h.withCustom(c, b, forecastCardIDs(cards)...); err != nil {
		return err
	}
	page, next := b.monthCards(key, cards, more)
	return web.Render(c, fiber.StatusOK, views.CardsPage(page, next))
}

// MoveForecastCard moves a card to another month: by drag (static/app.js posts the target
// column's drop, month=2026-03) or by the card's "Move to" form (the same field). The
// change is models.Store.MoveToMonth, an UpdateOpportunity of ExpectedOrderDate; the answer
// re-renders the two months out of band, or redirects a plain form post back to the board.
func (h *Handler) MoveForecastCard(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	key := c.FormValue("month")
	var month models.Date
	if key != models.BucketNoDate {
		if month, err = models.ParseMonthKey(key); err != nil {
			return badRequest("Choose the month to move the card to.")
		}
	}
	seen, err := optionalVersion(c.FormValue("version"))
	if err != nil {
		return err
	}
	f, err := h.forecastFilterOfMutation(c)
	if err != nil {
		return err
	}
	var (
		res *models.MoveResult
		old *models.Date
	)
	if key == models.BucketNoDate {
		res, old, err = h.Store.ClearExpectedDate(c.UserContext(), id, seen, web.ActorOf(c))
	} else {
		res, old, err = h.Store.MoveToMonth(c.UserContext(), id, month, seen, web.ActorOf(c))
	}
	if errors.Is(err, models.ErrVersionConflict) && web.IsHTMX(c) {
		return h.staleMonthMove(c, f, id, key)
	}
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		return c.Redirect("/forecast/board?"+forecastQuery(f), fiber.StatusSeeOther)
	}
	opp, today := res.Activity, h.today()
	limits := map[string]int{columnKey(opp.ExpectedOrderDate, today): renderedCount(c, "to_count")}
	k := columnKey(old, today)
	limits[k] = max(limits[k], renderedCount(c, "from_count"))
	msg := "Moved “" + opp.Subject + "” to No date."
	if opp.ExpectedOrderDate != nil {
		msg = "Moved “" + opp.Subject + "” to " + opp.ExpectedOrderDate.Format("2 January 2006") + "."
	}
	var extra []templComponent
	if c.FormValue("source") == "form" {
		extra = append(extra, views.PanelOOB(nil)) // the move was made in the panel: done with it
	}
	return h.refreshMonths(c, f, limits, msg, extra...)
}

// staleMonthMove answers a forecast board move from a stale page like staleMove: 409, the
// card's real month, the one it was dropped on and the one it came from re-rendered, and who
// changed it.
func (h *Handler) staleMonthMove(c *fiber.Ctx, f models.ForecastFilter, id uuid.UUID, dropped string) error {
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	limits := map[string]int{columnKey(a.ExpectedOrderDate, h.today()): renderedCount(c, "to_count"), dropped: renderedCount(c, "to_count")}
	if from := c.FormValue("from_phase"); from != "" && (from == models.BucketNoDate || from == models.BucketOverdue || validMonthKey(from)) {
		limits[from] = max(limits[from], renderedCount(c, "from_count"))
	}
	msg := h.changedBy(c, a) + " changed “" + a.Subject + "” after this page showed it, so it was not moved."
	c.Set("X-Phaseboard-Message", url.QueryEscape(msg))
	c.Status(fiber.StatusConflict)
	return h.refreshMonths(c, f, limits, msg)
}

func validMonthKey(k string) bool {
	_, err := models.ParseMonthKey(k)
	return err == nil
}

// refreshMonths renders the given months of the forecast board out of band (each with as many
// cards as limits says), plus an announcement. Only those months' figures are computed: an
// index range each, not the whole board.
func (h *Handler) refreshMonths(c *fiber.Ctx, f models.ForecastFilter, limits map[string]int, announce string, extra ...templComponent) error {
	b, err := h.forecastCards(c, f)
	if err != nil {
		return err
	}
	var parts []templComponent
	for _, key := range []string{models.BucketOverdue, models.BucketNoDate} {
		limit, ok := limits[key]
		if !ok {
			continue
		}
		figures, err := h.Store.ForecastBucket(c.UserContext(), f, key, h.today())
		if err != nil {
			return err
		}
		col, err := h.monthColumn(c, f, figures, limit, b)
		if err != nil {
			return err
		}
		parts = append(parts, views.BoardColumn(col, true))
	}
	for _, m := range b.months {
		limit, ok := limits[m.Key]
		if !ok {
			continue
		}
		one := f
		one.From, one.To = m.Start, m.Start
		figures, err := h.Store.ForecastMonths(c.UserContext(), one)
		if err != nil {
			return err
		}
		col, err := h.monthColumn(c, f, figures[0], limit, b)
		if err != nil {
			return err
		}
		parts = append(parts, views.BoardColumn(col, true))
	}
	parts = append(parts, views.Announce(announce))
	parts = append(parts, extra...)
	return web.Render(c, c.Response().StatusCode(), joinComponents(parts...)) // 200, or a stale move's 409
}

// SetForecastCategory sets or clears (empty value: the phase's applies again) an opportunity's
// forecast category from its card on the forecast board, refusing a stale card (version).
func (h *Handler) SetForecastCategory(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	category := c.FormValue("forecast_category")
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f, err := h.forecastFilterOfMutation(c)
	if err != nil {
		return err
	}
	ch := models.ActivityChanges{ForecastCategory: &category, ExpectedVersion: &version}
	res, err := h.Store.UpdateActivity(c.UserContext(), id, ch, web.ActorOf(c))
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		return c.Redirect("/forecast/board?"+forecastQuery(f), fiber.StatusSeeOther)
	}
	opp := res.Activity
	msg := "“" + opp.Subject + "” follows its phase's forecast category again."
	if opp.ForecastCategory != nil {
		msg = "“" + opp.Subject + "” is now in forecast category " + views.CategoryName(*opp.ForecastCategory) + "."
	}
	limits := map[string]int{columnKey(opp.ExpectedOrderDate, h.today()): renderedCount(c, "count")}
	return h.refreshMonths(c, f, limits, msg, views.PanelOOB(nil))
}

// forecastFilterOfMutation recovers the forecast board's filter a move was made under.
func (h *Handler) forecastFilterOfMutation(c *fiber.Ctx) (models.ForecastFilter, error) {
	v, err := pageQuery(c)
	if err != nil {
		return models.ForecastFilter{}, err
	}
	f, _, err := h.forecastFilter(c, v)
	return f, err
}

// ForecastDeals lists the deals behind one figure of the forecast page (every figure links here):
// the forecast's filter, the kind of figure (k), optionally a phase and a forecast category, and
// the snapshot the figure came from, if it did.
func (h *Handler) ForecastDeals(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, _, err := h.forecastFilter(c, v)
	if err != nil {
		return err
	}
	phase, err := optionalID(v.Get("phase"), "phase")
	if err != nil {
		return err
	}
	// A snapshot's figure links here too: the deals are today's, and the page says so.
	_, _, snap, err := h.forecastSource(c, v)
	if err != nil {
		return err
	}
	df := models.DealsFilter{ForecastFilter: f, Kind: v.Get("k"), PhaseID: phase, Category: v.Get("category"),
		LostReason: v.Get("reason"), Competitor: v.Get("competitor")}
	pageNo := 1
	if p := v.Get("page"); p != "" {
		if pageNo, err = strconv.Atoi(p); err != nil || pageNo < 1 {
			return badRequest("The page is a number from 1.")
		}
	}
	list, err := h.Store.ForecastDeals(c.UserContext(), df, h.today(), pageNo)
	if err != nil {
		return err
	}
	totals, err := h.Store.ForecastDealsTotals(c.UserContext(), df, h.today())
	if err != nil {
		return err
	}
	what := map[string]string{"open": "Open deals expected", "won": "Deals won", "lost": "Deals lost", "overdue": "Overdue deals", "nodate": "Open deals without a date",
		models.DealsEntered: "Deals that entered the phase", models.DealsEnteredWon: "Deals won after the phase", models.DealsStayed: "Deals that stayed in the phase and left",
		models.DealsInPhase: "Open deals in the phase", models.DealsRotting: "Rotting deals in the phase"}[df.Kind]
	if df.Kind == "open" || df.Kind == "won" || df.Kind == "lost" {
		what += " " + f.From.Format("Jan 2006")
		if f.To.Format("Jan 2006") != f.From.Format("Jan 2006") {
			what += " – " + f.To.Format("Jan 2006")
		}
	}
	if df.Category != "" {
		what += " (" + views.CategoryName(df.Category) + ")"
	}
	view := views.DealsView{Title: what, Back: "/forecast?" + forecastQuery(f), Deals: list.Deals, Totals: totals, PhaseNames: map[string]string{}, Snapshot: snap}
	if snap != nil {
		view.Back += "&snapshot=" + snap.ID.String()
	}
	if list.More {
		next := url.Values{}
		for k, vs := range v {
			next[k] = vs
		}
		next.Set("page", strconv.Itoa(pageNo+1))
		view.Next = "/forecast/deals?" + next.Encode()
	}
	if pageNo > 1 {
		view.First = (pageNo-1)*models.DealsPageSize + 1
	}
	pipelines, err := h.Store.SalesPipelines(c.UserContext())
	if err != nil {
		return err
	}
	for _, p := range pipelines {
		phases, err := h.Store.Phases(c.UserContext(), p.ID)
		if err != nil {
			return err
		}
		for _, ph := range phases {
			view.PhaseNames[ph.ID.String()] = p.Name + " · " + ph.Name
		}
	}
	if phase != nil && view.PhaseNames[phase.String()] != "" {
		what += ": " + view.PhaseNames[phase.String()]
		view.Title = what
	}
	return web.Render(c, fiber.StatusOK, views.DealsPage(page(c, what, "forecast"), view))
}
