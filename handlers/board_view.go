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

// The view models of both boards (views.Board, views.Column, views.Card): the pipeline board's
// columns are phases, the forecast board's are months; cards, columns, load-more and drops are
// the same components either way.

// cardContext is what every card of one board render needs.
type cardContext struct {
	kind   *models.Kind // what the board holds (the forecast board: sales opportunities)
	actor  models.Actor // who looks: a card they may not change looks read-only
	csrf   string
	query  string // the board's filter as a URL query (plain form posts go back with it)
	back   string // the board's URL, where the panel's Close returns
	now    time.Time
	today  models.Date
	usual  models.RotRules
	lost   map[uuid.UUID]string // lost reason id → its name, for the cards of lost deals
	phases []models.Phase       // the "Move to" choices of the pipeline board
	months []models.ForecastMonth
	// The forecast board's: phase id → its default forecast category.
	phaseCategories map[uuid.UUID]string
	// The kind's custom fields an admin put on cards, and their values of the cards loaded so
	// far (withCustom), as read.
	onCard []models.CustomField
	custom map[uuid.UUID]map[uuid.UUID]string
}

// withCustom reads the on-card custom field values of the cards ids for b: one query per
// column of cards (and one per kind of link target shown), none when no field is on cards.
func (h *Handler) withCustom(c *fiber.Ctx, b *cardContext, ids ...uuid.UUID) error {
	if b.onCard == nil {
		defs, err := h.Store.CustomFields(c.UserContext())
		if err != nil {
			return err
		}
		b.onCard = defs.OnCard(b.kind.Type)
		if b.onCard == nil {
			b.onCard = []models.CustomField{} // looked: none
		}
	}
	if len(b.onCard) == 0 || len(ids) == 0 {
		return nil
	}
	vals, err := h.Store.CustomDisplay(c.UserContext(), ids, b.onCard)
	if err != nil {
		return err
	}
	if b.custom == nil {
		b.custom = map[uuid.UUID]map[uuid.UUID]string{}
	}
	for id, v := range vals {
		b.custom[id] = v
	}
	return nil
}

// cardIDs are the IDs of cards.
func cardIDs(cards []models.Card) []uuid.UUID {
	ids := make([]uuid.UUID, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	return ids
}

// boardCards is the pipeline board's cardContext. The caller passes the pipeline's phases,
// which it has already loaded with the columns (phasesOf).
func (h *Handler) boardCards(c *fiber.Ctx, f models.BoardFilter, phases []models.Phase) (*cardContext, error) {
	usual, err := h.Store.UsualDaysInPhase(c.UserContext(), f.PipelineID)
	if err != nil {
		return nil, err
	}
	var kind *models.Kind
	if len(phases) > 0 {
		kind = models.KindByPhaseType(phases[0].Type)
	} else {
		p, err := h.Store.Pipeline(c.UserContext(), f.PipelineID)
		if err != nil {
			return nil, err
		}
		kind = models.KindByType(p.ActivityType)
	}
	if kind == nil {
		return nil, fiber.NewError(fiber.StatusNotFound, "That pipeline holds no known kind of activity.")
	}
	q := filterQuery(f)
	b := &cardContext{kind: kind, actor: web.ActorOf(c), csrf: web.CSRFToken(c), query: q, back: "/board?" + q,
		now: h.Store.Now(), today: h.today(), usual: usual, phases: phases}
	if kind.Sales && f.Status != models.StatusOpen { // only closed cards show why they were lost
		if b.lost, err = h.lostReasonNames(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// lostReasonNames maps the lost reasons' ids to their names.
func (h *Handler) lostReasonNames(c *fiber.Ctx) (map[uuid.UUID]string, error) {
	reasons, err := h.Store.LostReasons(c.UserContext())
	if err != nil {
		return nil, err
	}
	names := make(map[uuid.UUID]string, len(reasons))
	for _, r := range reasons {
		names[r.ID] = r.Name
	}
	return names, nil
}

// card is the common part of a card on either board; move is its "Move to" page.
func (b *cardContext) card(c models.Card, move string) views.Card {
	id := c.ID.String()
	amount := c.Amount
	if b.kind.Sales {
		amount = c.EstimatedAmount
	}
	v := views.Card{ID: id, Subject: c.Subject, Customer: c.CustomerName, Amount: views.MoneyIn(amount, c.Currency),
		Owner: shortName(c.RepName), OwnerName: c.RepName, Closed: c.IsClosed,
		ReadOnly: !models.CanEditActivity(b.actor, &models.Activity{SalesRepresentativeID: c.SalesRepresentativeID}),
		EditURL:  "/board/activities/" + id + "/edit", MoveURL: move, Version: c.Version}
	if c.ExpectedOrderDate != nil {
		v.Expected, v.ExpectedValue = c.ExpectedOrderDate.Format("2 Jan 2006"), c.ExpectedOrderDate.String()
	}
	v.Marks = b.marks(c)
	for _, f := range b.onCard {
		if text := b.custom[c.ID][f.ID]; text != "" {
			v.Fields = append(v.Fields, views.CardField{Label: f.Label, Value: text})
		}
	}
	return v
}

// backURL is where a panel opened by this request returns: the "back" field or query
// parameter, else the page htmx reports, else the Referer (a plain link followed from a board),
// when it is a board of this site; else fallback.
func backURL(c *fiber.Ctx, fallback string) string {
	for _, u := range []string{c.FormValue("back"), c.Query("back"), c.Get("HX-Current-URL"), c.Get(fiber.HeaderReferer)} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err == nil && (p.Host == "" || p.Host == c.Hostname()) {
			local := p.EscapedPath()
			if p.RawQuery != "" {
				local += "?" + p.RawQuery
			}
			if strings.HasPrefix(p.Path, "/board") && !strings.HasPrefix(p.Path, "/board/") || strings.HasPrefix(p.Path, "/forecast/board") && !strings.Contains(p.Path, "/opportunities/") {
				return localURL(local, fallback)
			}
		}
	}
	return fallback
}

// marks are the marks that matter to a rep: overdue, rotting, and why a lost deal was lost.
func (b *cardContext) marks(c models.Card) []views.Mark {
	var marks []views.Mark
	if c.IsClosed && c.LostReasonID != nil && b.lost[*c.LostReasonID] != "" {
		marks = append(marks, views.Mark{Class: "lost", Text: b.lost[*c.LostReasonID], TestID: "card-lost-reason", Title: "Lost because: " + b.lost[*c.LostReasonID]})
	}
	now, today := b.now, b.today
	if !c.IsClosed && c.ExpectedOrderDate != nil && c.ExpectedOrderDate.Before(today.Time) {
		marks = append(marks, views.Mark{Class: "overdue", Text: "Overdue", TestID: "card-overdue",
			Title: "Expected " + c.ExpectedOrderDate.Format("2 Jan 2006") + ", which has passed"})
	}
	if text, title := views.RotMark(c, now); text != "" {
		marks = append(marks, views.Mark{Class: "rotting", Text: text, Title: title, TestID: "card-rotting"})
	}
	return marks
}

// phaseCard is a card of the pipeline board.
func (b *cardContext) phaseCard(c models.Card) views.Card {
	return b.card(c, "/board/activities/"+c.ID.String()+"/move")
}

// phaseMoves are the "Move to" choices of a card of the pipeline board: the board's phases.
func (h *Handler) phaseMoves(c *fiber.Ctx, opp *models.Activity) (views.MovePanel, error) {
	phases, err := h.Store.Phases(c.UserContext(), opp.PipelineID)
	if err != nil {
		return views.MovePanel{}, err
	}
	back := backURL(c, "/board?pipeline="+opp.PipelineID.String())
	m := views.MovePanel{CardID: opp.ID.String(), Version: opp.Version, Subject: opp.Subject, CSRF: web.CSRFToken(c), Back: back, Return: queryOf(back),
		FullPage: !web.IsHTMX(c),
		Move:     views.Choice{URL: "/board/activities/" + opp.ID.String() + "/move", Name: "phase_id", Label: "Move to"}}
	for _, p := range phases {
		m.Move.Options = append(m.Move.Options, views.Option{Value: p.ID.String(), Label: p.Name, Selected: p.ID == opp.PhaseID})
	}
	return m, nil
}

// queryOf is the query of a local URL.
func queryOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.RawQuery
	}
	return ""
}

// phaseColumn is a column of the pipeline board with its first cards (more: more than shown).
func (b *cardContext) phaseColumn(col models.Column, cards []models.Card, more bool) views.Column {
	id := col.Phase.ID.String()
	v := views.Column{DOMID: "col-" + id, Title: col.Phase.Name, Count: col.Count,
		Drop: views.Drop{URL: "/board/activities/{id}/move", Name: "phase_id", Value: id}}
	// The figures that fit the kind: Σ estimated and Σ weighted for deals, Σ amount for others.
	if b.kind.Sales {
		v.Figures = []views.Figure{{Label: "Estimated", Value: views.MoneyIn(col.Estimated, col.Currency), TestID: "column-estimated"},
			{Label: "Weighted", Value: views.MoneyIn(col.Weighted, col.Currency), TestID: "column-weighted", NoRate: col.NoRate}}
	} else {
		v.Figures = []views.Figure{{Label: "Amount", Value: views.MoneyIn(col.Amount, col.Currency), TestID: "column-amount", NoRate: col.NoRate}}
	}
	if col.Phase.IsTerminal {
		v.Outcome, v.OutcomeText = "lost", "closed"
		if col.Phase.IsWon {
			v.Outcome, v.OutcomeText = "won", "done"
		}
		if b.kind.Sales {
			v.OutcomeText = v.Outcome
		}
	}
	b.usual.Mark(cards, b.now)
	for _, c := range cards {
		v.Cards = append(v.Cards, b.phaseCard(c))
	}
	if more && len(cards) > 0 {
		v.MoreURL = b.phaseMoreURL(col.Phase.ID, cards[len(cards)-1].ID)
	}
	return v
}

func (b *cardContext) phaseMoreURL(phase, after uuid.UUID) string {
	return "/board/columns/" + phase.String() + "/cards?after=" + after.String() + "&" + b.query
}

// phaseCards are a "Load more" page of the pipeline board.
func (b *cardContext) phaseCards(phase uuid.UUID, cards []models.Card, more bool) ([]views.Card, string) {
	b.usual.Mark(cards, b.now)
	out := make([]views.Card, len(cards))
	for i, c := range cards {
		out[i] = b.phaseCard(c)
	}
	next := ""
	if more && len(cards) > 0 {
		next = b.phaseMoreURL(phase, cards[len(cards)-1].ID)
	}
	return out, next
}

// localURL is u when it is a path on this site ("/board?..."), else fallback: a "back" link
// must never lead to another site.
func localURL(u, fallback string) string {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.HasPrefix(u, "/\\") || strings.ContainsAny(u, "\r\n\x00") {
		return fallback
	}
	if p, err := url.Parse(u); err != nil || p.Host != "" || p.Scheme != "" {
		return fallback
	}
	return u
}

// dropTargets are the won and lost phases as drop targets, always on screen while dragging.
func (b *cardContext) dropTargets(cols []models.Column) []views.Column {
	var out []views.Column
	for _, col := range cols {
		if col.Phase.IsTerminal {
			d := b.phaseColumn(col, nil, false)
			d.Title = "Drop here: " + col.Phase.Name
			out = append(out, d)
		}
	}
	return out
}

// shortName is how a card names its owner: "Chloé M." for "Chloé Martin".
func shortName(full string) string {
	first, rest, ok := strings.Cut(strings.TrimSpace(full), " ")
	if !ok || rest == "" {
		return full
	}
	r := []rune(strings.TrimSpace(rest[strings.LastIndex(rest, " ")+1:]))
	if len(r) == 0 {
		return first
	}
	return first + " " + string(r[0]) + "."
}
