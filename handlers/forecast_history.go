package handlers

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// The forecast's history: the snapshots (weekly and on demand), the forecast as a snapshot
// kept it (/forecast?snapshot=ID), and the waterfall between two moments, each bar opening
// its opportunities. The moments are in the URL (since, until): a snapshot's id, "now", or a
// date (its start, UTC); since_date and until_date, when filled, win over the selects.

// snapshotsListed is how many snapshots the history page offers.
const snapshotsListed = 104

// moment reads one end of the waterfall from the query.
func (h *Handler) moment(c *fiber.Ctx, q url.Values, name string, def views.Moment, snaps []models.Snapshot) (views.Moment, time.Time, error) {
	m := def
	if v := strings.TrimSpace(q.Get(name)); v != "" {
		m = views.Moment{Value: v}
	}
	if d := strings.TrimSpace(q.Get(name + "_date")); d != "" {
		m = views.Moment{Value: d, Date: d}
	}
	switch v := m.Value; {
	case v == "now":
		now := h.Store.Now().UTC()
		m.Label = "now"
		return m, now, nil
	case len(v) == 36:
		id, err := uuid.Parse(v)
		if err != nil {
			break
		}
		snap, err := h.Store.Snapshot(c.UserContext(), id)
		if err != nil {
			return m, time.Time{}, err
		}
		m.Label = "the snapshot of " + snap.TakenAt.UTC().Format("2 Jan 2006 15:04")
		return m, snap.TakenAt, nil
	default:
		if d, err := models.ParseDate(v); err == nil {
			m.Date, m.Label = v, "the start of "+d.Format("2 Jan 2006")
			return m, d.Time, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			m.Label = t.UTC().Format("2 Jan 2006 15:04") + " UTC"
			return m, t.UTC(), nil
		}
	}
	return m, time.Time{}, badRequest("A moment is a snapshot, now, or a date (YYYY-MM-DD).")
}

// waterfallOf reads the history page's filter, moments and measure, and computes the waterfall.
func (h *Handler) waterfallOf(c *fiber.Ctx) (views.HistoryView, error) {
	q, err := queryValues(c)
	if err != nil {
		return views.HistoryView{}, err
	}
	f, msg, err := h.forecastFilter(c, q)
	if err != nil {
		return views.HistoryView{}, err
	}
	ctx := c.UserContext()
	snaps, err := h.Store.Snapshots(ctx, snapshotsListed)
	if err != nil {
		return views.HistoryView{}, err
	}
	pipelines, err := h.Store.Pipelines(ctx)
	if err != nil {
		return views.HistoryView{}, err
	}
	reps, err := h.Store.Employees(ctx)
	if err != nil {
		return views.HistoryView{}, err
	}
	// By default: since the latest snapshot (a week ago without one), until now.
	def := views.Moment{Value: h.Store.Now().UTC().AddDate(0, 0, -7).Format("2006-01-02")}
	if len(snaps) > 0 {
		def = views.Moment{Value: snaps[0].ID.String()}
	}
	v := views.HistoryView{Page: page(c, "Forecast history", "forecast"), Filter: f, Pipelines: pipelines, Reps: reps,
		Query: forecastQuery(f), Snapshots: snaps, Error: msg, CanSnap: models.CanSetTargets(web.ActorOf(c))}
	since, sinceT, err := h.moment(c, q, "since", def, snaps)
	if err != nil {
		return v, err
	}
	until, untilT, err := h.moment(c, q, "until", views.Moment{Value: "now"}, snaps)
	if err != nil {
		return v, err
	}
	v.Since, v.Until, v.Measure = since, until, q.Get("measure")
	if q.Get("snapped") == "1" {
		v.Notice = "Snapshot taken."
	}
	w, err := h.Store.Waterfall(ctx, models.WaterfallFilter{ForecastFilter: f, Since: sinceT, Until: untilT, Measure: v.Measure})
	if models.ErrorCode(err) == models.EInvalid {
		v.Error = models.ErrorMessage(err)
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.Waterfall, v.Currency = w, w.Currency
	v.BarLinks = map[string]string{}
	wq := views.WaterfallQuery(v.Query, since.Value, until.Value, v.Measure)
	for _, b := range w.Bars {
		v.BarLinks[b.Key] = "/forecast/history/deals?bar=" + b.Key + "&" + wq
	}
	v.Chart = views.NewWaterfallChart(w, v.BarLinks)
	return v, nil
}

// History renders the history page.
func (h *Handler) History(c *fiber.Ctx) error {
	v, err := h.waterfallOf(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.HistoryPage(v))
}

// WaterfallDeals lists the opportunities of one bar of the waterfall.
func (h *Handler) WaterfallDeals(c *fiber.Ctx) error {
	v, err := h.waterfallOf(c)
	if err != nil {
		return err
	}
	if v.Waterfall == nil {
		return badRequest(v.Error)
	}
	bar := v.Waterfall.Bar(c.Query("bar"))
	if bar == nil {
		return fiber.NewError(fiber.StatusNotFound, "No such bar of the waterfall.")
	}
	names, err := h.Store.SalesPhaseNames(c.UserContext())
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.WaterfallDealsPage(views.WaterfallDealsView{Page: page(c, bar.Label, "forecast"), Bar: *bar,
		Since: v.Since, Until: v.Until, Back: "/forecast/history?" + views.WaterfallQuery(v.Query, v.Since.Value, v.Until.Value, v.Measure),
		PhaseNames: names, Currency: v.Currency}))
}

// TakeSnapshot takes a snapshot on a manager's demand and shows the history again.
func (h *Handler) TakeSnapshot(c *fiber.Ctx) error {
	back, err := url.ParseQuery(c.FormValue("return"))
	if err != nil {
		return badRequest("The page's address is malformed: reload the history and try again.")
	}
	author := ""
	if u := web.CurrentUser(c); u != nil {
		author = u.Email
	}
	if _, err := h.Store.TakeSnapshot(c.UserContext(), models.SnapshotManual, author, web.ActorOf(c)); err != nil {
		return err
	}
	back.Set("snapped", "1")
	return c.Redirect("/forecast/history?"+back.Encode(), fiber.StatusSeeOther)
}

// forecastSource is where the forecast page's figures come from: today's rollups, or with
// ?snapshot=ID that snapshot, as of its day.
func (h *Handler) forecastSource(c *fiber.Ctx, q url.Values) (models.ForecastSource, models.Date, *models.Snapshot, error) {
	id := strings.TrimSpace(q.Get("snapshot"))
	if id == "" {
		return models.SourceLive, h.today(), nil, nil
	}
	sid, err := uuid.Parse(id)
	if err != nil {
		return models.SourceLive, h.today(), nil, badRequest("The snapshot is not a valid id.")
	}
	snap, err := h.Store.Snapshot(c.UserContext(), sid)
	if err != nil {
		return models.SourceLive, h.today(), nil, err
	}
	t := snap.TakenAt.UTC()
	return models.SourceSnapshot(sid), models.NewDate(t.Year(), t.Month(), t.Day()), snap, nil
}
