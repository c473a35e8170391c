// Package handlers holds Phaseboard's HTTP handlers, one file per feature or action, all
// methods of Handler, which holds their dependencies. Register is the one route table.
package handlers

import (
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// Handler holds what the handlers need.
type Handler struct {
	Store *models.Store
	// SecureCookies sets the Secure flag on the session cookie (behind TLS).
	SecureCookies bool
	// APIRateLimit is the per-client limit of API calls a minute (default 1000).
	APIRateLimit int
	// LoginLimit is how many failed logins one client (IP) may make on one account per
	// LoginWindow (default 10 per 15 minutes); see auth_throttle.go for the other limits.
	LoginLimit  int
	LoginWindow time.Duration
	// TokenLimit is how many token requests a client id may make a minute (default 20; an IP
	// three times as many).
	TokenLimit int
	// Logger receives the API's failures (slog.Default() when nil).
	Logger *slog.Logger
	// WebhookPolicy is where webhooks may call (PHASEBOARD_WEBHOOK_ALLOWED_HOSTS).
	WebhookPolicy models.WebhookPolicy

	live *liveStreams // the open live pages' streams (live.go), made on first use

	// failRefresh, set by tests (export_test.go), makes showing a committed change fail.
	failRefresh error
}

// refreshFault is the failure tests inject into the rendering of a committed change.
func (h *Handler) refreshFault() error { return h.failRefresh }

// Register adds every route to the app.
func Register(app *fiber.App, h *Handler) {
	app.Get("/healthz", h.Health)
	// web.New has loaded the session and checked CSRF and origin by now.
	app.Get("/login", h.LoginPage)
	app.Post("/login", h.Login)
	app.Post("/logout", h.Logout)
	app.Get("/oauth2/auth", h.Authorize)
	app.Post("/oauth2/auth", h.AuthorizeDecision)
	app.Post("/oauth2/token", h.Token)
	app.Post("/oauth2/revoke", h.Revoke)
	// Everything under /v1/odata is behind API authentication (tokens, or a session for reads).
	app.Use("/v1/odata", web.APIAuth(web.APIAuthConfig{Store: h.Store, RateLimit: h.APIRateLimit}))
	h.registerOData(app) // the OData API (odata.go), behind the middleware above
	h.registerWebhooks(app)
	registerAdmin(app, h)
	// The board and the forecast are for logged-in users; the domain checks each change's actor.
	for _, prefix := range []string{"/board", "/forecast", "/forecast.csv", "/views"} {
		app.Use(prefix, web.RequireUser)
	}
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/board", fiber.StatusSeeOther) })
	app.Get("/board", h.Board)
	app.Get("/board/columns/:phase/cards", h.MoreCards)
	app.Get("/board/panel/close", h.ClosePanel)
	app.Get("/board/events", h.BoardEvents) // live pages (live.go)
	app.Get("/board/refresh", h.BoardRefresh)
	app.Get("/forecast/events", h.ForecastEvents)
	// Cards of every kind; /board/opportunities/… is the older spelling of the same routes, kept
	// for pages and scripts that still use it.
	for _, base := range []string{"/board/activities", "/board/opportunities"} {
		app.Post(base, h.CreateActivity)
		app.Get(base+"/:id/move", h.MovePanel)
		app.Post(base+"/:id/move", h.MoveActivity)
		app.Get(base+"/:id/edit", h.EditActivity)
		app.Post(base+"/:id", h.SaveActivity)
		app.Post(base+"/:id/lost", h.SaveLostReason)
		app.Post(base+"/:id/notes", h.AddNote)
		app.Post(base+"/:id/notes/:note/pin", h.PinNote)
		app.Post(base+"/:id/notes/:note/delete", h.DeleteNote)
	}
	app.Post("/views", h.SaveView)
	app.Post("/views/:id/delete", h.DeleteView)
	h.registerForecast(app)
}

// badRequest is a 400 with a message safe to show.
func badRequest(msg string) error { return fiber.NewError(fiber.StatusBadRequest, msg) }

// pathID parses the :id route parameter; a malformed one is a 404, as no such entity exists.
func pathID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, fiber.NewError(fiber.StatusNotFound, "No such opportunity.")
	}
	return id, nil
}

// optionalID parses an optional form or query id; empty is nil, malformed is a 400.
func optionalID(value, field string) (*uuid.UUID, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	id, err := uuid.Parse(value)
	if err != nil {
		return nil, badRequest("The " + field + " is not a valid id.")
	}
	return &id, nil
}

// filterFromValues reads the board filter from a URL query. The pipeline defaults to the first.
func (h *Handler) filterFromValues(c *fiber.Ctx, v url.Values) (models.BoardFilter, error) {
	return h.boardFilter(c, v, func() ([]models.Pipeline, error) { return h.Store.Pipelines(c.UserContext()) })
}

// boardFilter is filterFromValues with the pipelines from pipelines, asked only when the URL
// names none (the board page has loaded them already: it does not ask twice).
func (h *Handler) boardFilter(c *fiber.Ctx, v url.Values, pipelines func() ([]models.Pipeline, error)) (models.BoardFilter, error) {
	f, err := h.parseFilter(c, v)
	if err != nil || f.PipelineID != uuid.Nil {
		return f, err
	}
	all, err := pipelines()
	if err != nil {
		return f, err
	}
	if len(all) == 0 {
		return f, fiber.NewError(fiber.StatusNotFound, "There is no pipeline yet.")
	}
	f.PipelineID = all[0].ID
	return f, nil
}

// parseFilter reads the board filter from a URL query; PipelineID stays zero when the URL names
// none.
func (h *Handler) parseFilter(c *fiber.Ctx, v url.Values) (models.BoardFilter, error) {
	f := models.BoardFilter{Text: strings.TrimSpace(v.Get("q")), Status: v.Get("status")}
	switch f.Status {
	case models.StatusOpen, models.StatusClosed, models.StatusAll:
	case "":
		f.Status = models.StatusOpen // a board shows the deals still in play unless asked
	default:
		return f, badRequest("Unknown status filter: use open, closed or all.")
	}
	// The filter also comes from a mutation's return URL or Referer, which no middleware decodes.
	if err := models.CheckText("q", f.Text); err != nil {
		return f, badRequest("The search text is not valid: " + models.ErrorMessage(err))
	}
	if len(f.Text) > 200 { // cut at a character boundary: half a character is invalid UTF-8
		cut := 200
		for cut > 0 && !utf8.RuneStart(f.Text[cut]) {
			cut--
		}
		f.Text = f.Text[:cut]
	}
	f.Close = v.Get("close")
	if f.Close != "" && !slices.Contains(models.CloseChoices, f.Close) {
		return f, badRequest("Unknown expected-close filter: use month, quarter, nextquarter, overdue or nodate.")
	}
	if v.Get("rep") == "mine" {
		me := web.ActorOf(c).EmployeeID
		if me == nil {
			return f, badRequest("Your login is not linked to a sales rep, so there are no cards of yours.")
		}
		f.RepID, f.Mine = me, true
	} else {
		rep, err := optionalID(v.Get("rep"), "rep")
		if err != nil {
			return f, err
		}
		f.RepID = rep
	}
	pipe, err := optionalID(v.Get("pipeline"), "pipeline")
	if err != nil {
		return f, err
	}
	if pipe != nil {
		f.PipelineID = *pipe
	}
	return f, nil
}

// filterOfMutation recovers the board filter a mutation was made under. It is checked before the
// mutation writes anything: a malformed one refuses the request.
func (h *Handler) filterOfMutation(c *fiber.Ctx) (models.BoardFilter, error) {
	v, err := pageQuery(c)
	if err != nil {
		return models.BoardFilter{}, err
	}
	return h.filterFromValues(c, v)
}

// filterOfMove is filterOfMutation for a change that names its activity, whose pipeline the
// answer shows (the caller sets PipelineID): no default pipeline is looked up.
func (h *Handler) filterOfMove(c *fiber.Ctx) (models.BoardFilter, error) {
	v, err := pageQuery(c)
	if err != nil {
		return models.BoardFilter{}, err
	}
	return h.parseFilter(c, v)
}

// pageQuery is the query of the page a mutation was made on: the form's "return" field (plain
// forms), else the page URL htmx reports, else the Referer. Mutations answer with fragments of
// that page, so they must render them under the same filters; one that cannot be read is a 400.
func pageQuery(c *fiber.Ctx) (url.Values, error) {
	raw := c.FormValue("return")
	if raw == "" {
		for _, hdr := range []string{"HX-Current-URL", fiber.HeaderReferer} {
			if u, err := url.Parse(c.Get(hdr)); err == nil && u.RawQuery != "" {
				raw = u.RawQuery
				break
			}
		}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("The page's address is malformed: reload the board and try again.")
	}
	return v, nil
}

// filterQuery encodes a filter as the board URL's query.
func filterQuery(f models.BoardFilter) string {
	v := url.Values{}
	v.Set("pipeline", f.PipelineID.String())
	switch {
	case f.Mine:
		v.Set("rep", "mine")
	case f.RepID != nil:
		v.Set("rep", f.RepID.String())
	}
	if f.Text != "" {
		v.Set("q", f.Text)
	}
	if f.Status != "" && f.Status != models.StatusOpen {
		v.Set("status", f.Status)
	}
	if f.Close != "" {
		v.Set("close", f.Close)
	}
	return v.Encode()
}

// phasesOf lists the phases of a board's columns, in order.
func phasesOf(cols []models.Column) []models.Phase {
	phases := make([]models.Phase, len(cols))
	for i, col := range cols {
		phases[i] = col.Phase
	}
	return phases
}

// visibleColumns are the columns a board of f shows: with only open deals, the won and lost
// phases are not columns (they would stay empty) but drop targets while dragging.
func visibleColumns(f models.BoardFilter, cols []models.Column) []models.Column {
	if f.Status != models.StatusOpen {
		return cols
	}
	var out []models.Column
	for _, col := range cols {
		if !col.Phase.IsTerminal {
			out = append(out, col)
		}
	}
	return out
}

// columnView loads one column's figures and its first limit cards.
func (h *Handler) columnView(c *fiber.Ctx, f models.BoardFilter, col models.Column, limit int, b *cardContext) (views.Column, error) {
	cards, err := h.Store.Cards(c.UserContext(), f, col.Phase.ID, nil, limit+1)
	if err != nil {
		return views.Column{}, err
	}
	more := len(cards) > limit
	if more {
		cards = cards[:limit]
	}
	if err := h.withCustom(c, b, cardIDs(cards)...); err != nil {
		return views.Column{}, err
	}
	return b.phaseColumn(col, cards, more), nil
}

// page builds the layout's data for a full page.
func page(c *fiber.Ctx, title, nav string) views.Page {
	return views.Page{Title: title, CSRF: web.CSRFToken(c), Nav: nav, User: web.CurrentUser(c)}
}

// fillPage is page for a board, which fills the window (its columns scroll, not the page).
func fillPage(c *fiber.Ctx, title, nav string) views.Page {
	p := page(c, title, nav)
	p.Fill = true
	return p
}
