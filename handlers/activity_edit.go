package handlers

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// editFields maps the domain's field names to the form's, for errors the domain reports.
var editFields = map[string]string{
	"Subject": "subject", "Relationship": "customer", "EstimatedAmount": "estimated_amount", "Amount": "amount",
	"Probability": "probability", "ExpectedOrderDate": "expected_order_date", "SalesRepresentative": "rep",
}

// EditActivity shows the edit panel (a fragment for htmx, a page without JavaScript).
func (h *Handler) EditActivity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	form, err := h.activityForm(c, a, backURL(c, ""), a.Version)
	if err != nil {
		return err
	}
	return h.renderForm(c, fiber.StatusOK, form)
}

// SaveActivity saves the edit panel. Input errors come back next to their fields with what the
// user typed; a stale edit (someone saved in between) says so and keeps the typing too. The
// version and the page's filter are checked before anything is written.
func (h *Handler) SaveActivity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f, err := h.filterOfMutation(c)
	if err != nil {
		return err
	}
	a, err := h.Store.Activity(c.UserContext(), id)
	if err != nil {
		return err
	}
	form, err := h.activityForm(c, a, backURL(c, ""), version)
	if err != nil {
		return err
	}
	for _, name := range editFields {
		form.Values[name] = c.FormValue(name)
	}
	ch := parseEdit(form)
	ch.Custom = parseCustom(c, form)
	if len(form.Errors) > 0 {
		return h.renderForm(c, fiber.StatusBadRequest, form)
	}
	ch.ExpectedVersion = &version
	res, err := h.Store.UpdateActivity(c.UserContext(), id, ch, web.ActorOf(c))
	var derr *models.Error
	// A refusal of the edit rule (another rep's card) is a 403 with its message, not a form error.
	if errors.As(err, &derr) && derr.Code != models.ENotFound && derr.Code != models.EForbidden {
		if name, ok := editFields[derr.Field]; ok {
			form.Errors[name] = derr.Message
		} else if cf := customInputOf(form, derr.Field); cf != nil {
			form.Errors[cf.Name] = strings.Replace(derr.Message, " ("+derr.Field+")", "", 1)
		} else {
			form.Message = derr.Message
		}
		return h.renderForm(c, web.StatusOf(err), form)
	}
	if err != nil {
		return err
	}
	f.PipelineID = res.Activity.PipelineID
	if !web.IsHTMX(c) {
		return c.Redirect(form.Back, fiber.StatusSeeOther)
	}
	if err := h.renderSaved(c, f, form, a, res.Activity); err != nil {
		return h.afterCommit(c, err, "Saved “"+res.Activity.Subject+"”.")
	}
	return nil
}

// formVersion reads the version a form was rendered with: a positive whole number, strictly
// (a stale-edit check that a malformed value skipped would be no check).
func formVersion(c *fiber.Ctx) (int, error) {
	v, err := strconv.Atoi(c.FormValue("version"))
	if err != nil || v <= 0 {
		return 0, badRequest("The form is missing its version or it is malformed: reload the page and try again.")
	}
	return v, nil
}

// parseEdit turns the typed values into changes, noting every field that does not parse. The
// sales fields go with sales opportunities; other kinds have an amount.
func parseEdit(form views.ActivityForm) models.ActivityChanges {
	var ch models.ActivityChanges
	v := form.Values
	subject := v["subject"]
	ch.Subject = &subject
	number := func(name string) *float64 {
		s := strings.ReplaceAll(strings.TrimSpace(v[name]), ",", "")
		if s == "" {
			zero := 0.0
			return &zero
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			form.Errors[name] = "Enter a number, such as 12500."
			return nil
		}
		return &f
	}
	if form.Sales {
		ch.EstimatedAmount = number("estimated_amount")
		if strings.TrimSpace(v["probability"]) != "" {
			ch.Probability = number("probability")
		}
		if s := strings.TrimSpace(v["expected_order_date"]); s == "" {
			ch.ExpectedOrderDate = &models.Date{}
		} else if d, err := models.ParseDate(s); err != nil {
			form.Errors["expected_order_date"] = "Enter a date as YYYY-MM-DD."
		} else {
			ch.ExpectedOrderDate = &d
		}
	} else {
		ch.Amount = number("amount")
	}
	link := func(name string) *uuid.UUID {
		s := strings.TrimSpace(v[name])
		if s == "" {
			return &uuid.Nil
		}
		id, err := uuid.Parse(s)
		if err != nil {
			form.Errors[name] = "Choose one from the list."
			return nil
		}
		return &id
	}
	ch.RelationshipID = link("customer")
	ch.SalesRepresentativeID = link("rep")
	return ch
}

// parseCustom reads the custom fields the form posted ("" clears one), noting every value
// that does not parse; the domain checks the rest (choices, links) in the save's transaction.
// A field the form did not carry (defined after it was rendered), or carried unchanged (form
// holds the stored values), is left as it is: a choice since removed is not refused.
func parseCustom(c *fiber.Ctx, form views.ActivityForm) models.CustomValues {
	out := models.CustomValues{}
	for _, cf := range form.Custom {
		if !c.Request().PostArgs().Has(cf.Name) {
			continue
		}
		raw := strings.TrimSpace(c.FormValue(cf.Name))
		if raw == form.Values[cf.Name] {
			continue
		}
		form.Values[cf.Name] = raw
		if raw == "" {
			out[cf.Field] = nil
			continue
		}
		switch cf.Kind {
		case models.CustomNumber:
			x, err := strconv.ParseFloat(strings.ReplaceAll(raw, ",", ""), 64)
			if err != nil {
				form.Errors[cf.Name] = "Enter a number, such as 12500."
				continue
			}
			out[cf.Field] = x
		case models.CustomBoolean:
			out[cf.Field] = raw == "true"
		default: // text, choices, dates and links as typed: the domain checks them
			out[cf.Field] = raw
		}
	}
	return out
}

// customInputOf is the custom field of the form that a domain error names by its API name.
func customInputOf(form views.ActivityForm, apiName string) *views.CustomInput {
	for i := range form.Custom {
		if form.Custom[i].APIName == apiName {
			return &form.Custom[i]
		}
	}
	return nil
}

// customInputs are the custom fields of a's kind in the edit panel, their stored values put in
// values under their form names.
func (h *Handler) customInputs(c *fiber.Ctx, a *models.Activity, customers []models.Relationship, reps []models.Employee, values map[string]string) ([]views.CustomInput, error) {
	defs, err := h.Store.CustomFields(c.UserContext())
	if err != nil {
		return nil, err
	}
	fields := defs.For(a.Type)
	if len(fields) == 0 {
		return nil, nil
	}
	stored, err := h.Store.CustomValuesOf(c.UserContext(), []uuid.UUID{a.ID}, fields)
	if err != nil {
		return nil, err
	}
	out := make([]views.CustomInput, 0, len(fields))
	for _, f := range fields {
		in := views.CustomInput{Field: f.ID, Name: f.FormName(), APIName: f.APIName(), Label: f.Label, Kind: f.Kind, Choices: f.Choices}
		switch f.LinkTarget {
		case models.TypeRelationship:
			for _, r := range customers {
				in.Options = append(in.Options, views.Option{Value: r.ID.String(), Label: r.Name})
			}
		case models.TypeEmployee:
			for _, e := range reps {
				in.Options = append(in.Options, views.Option{Value: e.ID.String(), Label: e.FullName()})
			}
		}
		values[in.Name] = stored[a.ID][f.ID].Raw
		// A choice an admin has since removed, or a link to a customer or rep no longer listed,
		// stays selected as it is (parseCustom leaves an unchanged value alone), so saving the
		// panel does not clear it.
		switch raw := values[in.Name]; {
		case raw == "":
		case f.Kind == models.CustomChoice && !slices.Contains(in.Choices, raw):
			in.Choices = append(slices.Clone(in.Choices), raw)
		case len(in.Options) > 0 && !slices.ContainsFunc(in.Options, func(o views.Option) bool { return o.Value == raw }):
			in.Options = append(in.Options, views.Option{Value: raw, Label: "(no longer active)"})
		}
		out = append(out, in)
	}
	return out, nil
}

// idsOf is the id a link holds, if any.
func idsOf(id *uuid.UUID) []uuid.UUID {
	if id == nil {
		return nil
	}
	return []uuid.UUID{*id}
}

// activityForm is the edit panel of a, as stored, rendered for the form version given, opened
// from the board at back (a local URL; a's pipeline board when back is empty or leads
// elsewhere).
func (h *Handler) activityForm(c *fiber.Ctx, a *models.Activity, back string, version int) (views.ActivityForm, error) {
	back = localURL(back, "/board?pipeline="+a.PipelineID.String())
	query := queryOf(back)
	reps, err := h.Store.Employees(c.UserContext(), idsOf(a.SalesRepresentativeID)...)
	if err != nil {
		return views.ActivityForm{}, err
	}
	customers, err := h.Store.Relationships(c.UserContext(), idsOf(a.RelationshipID)...)
	if err != nil {
		return views.ActivityForm{}, err
	}
	k := models.KindByType(a.Type)
	idOrEmpty := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return id.String()
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	form := views.ActivityForm{
		ID: a.ID.String(), Version: version, Number: a.Number, Noun: k.Noun, Sales: k.Sales, Query: query, Back: back, CSRF: web.CSRFToken(c),
		FullPage: !web.IsHTMX(c) || c.FormValue("page") == "1",
		Reps:     reps, Customers: customers, Errors: map[string]string{},
		Values: map[string]string{
			"subject": a.Subject, "customer": idOrEmpty(a.RelationshipID), "estimated_amount": num(a.EstimatedAmount),
			"amount": num(&a.Amount), "probability": num(a.Probability), "expected_order_date": views.DateValue(a.ExpectedOrderDate),
			"rep": idOrEmpty(a.SalesRepresentativeID),
		},
	}
	if form.Custom, err = h.customInputs(c, a, customers, reps, form.Values); err != nil {
		return views.ActivityForm{}, err
	}
	return form, h.dealPage(c, a, k, &form)
}

// dealPage is what the panel shows around the form: phase, forecast category, lost reason and
// competitor, the move history, and a way back when the card is closed.
func (h *Handler) dealPage(c *fiber.Ctx, a *models.Activity, k *models.Kind, d *views.ActivityForm) error {
	ctx := c.UserContext()
	d.Subject, d.ReadOnly = a.Subject, !models.CanEditActivity(web.ActorOf(c), a)
	phases, err := h.Store.Phases(ctx, a.PipelineID)
	if err != nil {
		return err
	}
	var phase *models.Phase
	for i := range phases {
		if phases[i].ID == a.PhaseID {
			phase = &phases[i]
		}
	}
	if phase == nil { // an archived phase is not among the active ones
		if phase, err = h.Store.Phase(ctx, a.PhaseID); err != nil {
			return err
		}
	}
	d.Phase = phase.Name
	if phase.IsTerminal {
		d.Outcome = map[bool]string{true: "won", false: "lost"}[phase.IsWon]
	}
	if k.Sales {
		d.Category = phase.ForecastCategory
		if a.ForecastCategory != nil && *a.ForecastCategory != "" {
			d.Category = *a.ForecastCategory
		}
		d.Category = views.CategoryName(d.Category)
	}
	if a.LostReasonID != nil || a.LostToCompetitorID != nil {
		reasons, err := h.Store.LostReasons(ctx)
		if err != nil {
			return err
		}
		for _, r := range reasons {
			if a.LostReasonID != nil && r.ID == *a.LostReasonID {
				d.LostReason = r.Name
			}
		}
		rivals, err := h.Store.Competitors(ctx)
		if err != nil {
			return err
		}
		for _, r := range rivals {
			if a.LostToCompetitorID != nil && r.ID == *a.LostToCompetitorID {
				d.Competitor = r.Name
			}
		}
	}
	if d.Notes, err = h.panelNotes(c, a); err != nil {
		return err
	}
	moves, err := h.Store.History(ctx, a.ID)
	if err != nil {
		return err
	}
	for i := len(moves) - 1; i >= 0; i-- {
		m := moves[i]
		text := "Created in " + m.To
		if m.From != "" {
			text = m.From + " → " + m.To
		}
		d.History = append(d.History, views.HistoryItem{When: m.At.UTC().Format("2 Jan 2006, 15:04"), Datetime: m.At.UTC().Format(time.RFC3339), Text: text, By: m.By})
	}
	if to, ok := models.ReopenPhase(moves, phases, a.PhaseID); ok && models.CanEditActivity(web.ActorOf(c), a) {
		for _, p := range phases {
			if p.ID == to {
				d.Reopen = &views.Choice{URL: "/board/activities/" + a.ID.String() + "/move", Name: "phase_id",
					Options: []views.Option{{Value: p.ID.String(), Label: p.Name}}}
			}
		}
	}
	return nil
}

func (h *Handler) renderForm(c *fiber.Ctx, status int, form views.ActivityForm) error {
	if web.IsHTMX(c) {
		// htmx swaps only 2xx answers; the panel with its errors is the answer.
		return web.Render(c, fiber.StatusOK, views.EditPanel(form))
	}
	return web.Render(c, status, views.EditPage(page(c, "Edit "+form.Number, "board"), form))
}

// renderSaved answers a saved edit: the panel again and, on the board it was opened from, the
// card and its column's figures refreshed out of band (on the forecast board, the months it
// left and entered). before is the activity as it was.
func (h *Handler) renderSaved(c *fiber.Ctx, f models.BoardFilter, edited views.ActivityForm, before, a *models.Activity) error {
	if err := h.refreshFault(); err != nil {
		return err
	}
	form, err := h.activityForm(c, a, edited.Back, a.Version)
	if err != nil {
		return err
	}
	form.Saved, form.FullPage = true, edited.FullPage
	panel, announce := views.EditPanel(form), views.Announce("Saved “"+a.Subject+"”.")
	if form.FullPage {
		return web.Render(c, fiber.StatusOK, joinComponents(panel, announce))
	}
	if strings.HasPrefix(form.Back, "/forecast/board") {
		v, _ := url.ParseQuery(form.Query)
		ff, _, err := h.forecastFilter(c, v)
		if err != nil {
			return err
		}
		limits := map[string]int{}
		for _, d := range []*models.Date{before.ExpectedOrderDate, a.ExpectedOrderDate} {
			limits[columnKey(d, h.today())] = renderedCount(c, "count")
		}
		return h.refreshMonths(c, ff, limits, "Saved “"+a.Subject+"”.", panel)
	}
	// An edit leaves the card in its phase: its column's figures are the only ones it moved.
	cols, err := h.Store.Columns(c.UserContext(), f, a.PhaseID)
	if err != nil {
		return err
	}
	card, err := h.Store.Card(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	parts, err := h.cardInPlace(c, f, cols, card, a.PhaseID)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, joinComponents(append([]templComponent{panel}, append(parts, announce)...)...))
}
