package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// editFields maps the form's field names to the domain's, for errors the domain reports.
var editFields = map[string]string{
	"Subject": "subject", "Relationship": "customer", "EstimatedAmount": "estimated_amount",
	"Probability": "probability", "ExpectedOrderDate": "expected_order_date", "SalesRepresentative": "rep",
}

// EditOpportunity shows the edit panel (a fragment for htmx, a page without JavaScript).
func (h *Handler) EditOpportunity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	opp, err := h.Store.Opportunity(c.UserContext(), id)
	if err != nil {
		return err
	}
	form, err := h.opportunityForm(c, opp, string(c.Request().URI().QueryString()))
	if err != nil {
		return err
	}
	return h.renderForm(c, fiber.StatusOK, form)
}

// SaveOpportunity saves the edit panel. Input errors come back next to their fields with what
// the user typed; a stale edit (someone saved in between) says so and keeps the typing too.
func (h *Handler) SaveOpportunity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	opp, err := h.Store.Opportunity(c.UserContext(), id)
	if err != nil {
		return err
	}
	form, err := h.opportunityForm(c, opp, c.FormValue("return"))
	if err != nil {
		return err
	}
	for name := range editFields {
		form.Values[editFields[name]] = c.FormValue(editFields[name])
	}
	ch, version := h.parseEdit(form)
	if len(form.Errors) > 0 {
		return h.renderForm(c, fiber.StatusUnprocessableEntity, form)
	}
	ch.ExpectedVersion = &version
	res, err := h.Store.UpdateOpportunity(c.UserContext(), id, ch, web.ActorOf(c))
	var derr *models.Error
	// A refusal of the edit rule (another rep's card) is a 403 with its message, not a form error.
	if errors.As(err, &derr) && derr.Code != models.ENotFound && derr.Code != models.EForbidden {
		if name, ok := editFields[derr.Field]; ok {
			form.Errors[name] = derr.Message
		} else {
			form.Message = derr.Message
		}
		return h.renderForm(c, StatusOfForm(err), form)
	}
	if err != nil {
		return err
	}
	if !web.IsHTMX(c) {
		return h.backToBoardOf(c, res.Opportunity)
	}
	saved, err := h.opportunityForm(c, res.Opportunity, form.Query)
	if err != nil {
		return err
	}
	saved.Saved = true
	return h.renderSaved(c, saved, res.Opportunity)
}

// StatusOfForm is the status of a form re-rendered for a domain error.
func StatusOfForm(err error) int {
	if models.ErrorCode(err) == models.EConflict {
		return fiber.StatusConflict
	}
	return fiber.StatusUnprocessableEntity
}

// parseEdit turns the typed values into changes, noting every field that does not parse.
func (h *Handler) parseEdit(form views.OpportunityForm) (models.OpportunityChanges, int) {
	var ch models.OpportunityChanges
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
	return ch, form.Version
}

func (h *Handler) opportunityForm(c *fiber.Ctx, opp *models.Activity, query string) (views.OpportunityForm, error) {
	reps, err := h.Store.Employees(c.UserContext())
	if err != nil {
		return views.OpportunityForm{}, err
	}
	customers, err := h.Store.Relationships(c.UserContext())
	if err != nil {
		return views.OpportunityForm{}, err
	}
	version, _ := strconv.Atoi(c.FormValue("version"))
	if version == 0 {
		version = opp.Version
	}
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
	return views.OpportunityForm{
		ID: opp.ID.String(), Version: version, Number: opp.Number, Query: query, CSRF: web.CSRFToken(c),
		Reps: reps, Customers: customers, Errors: map[string]string{},
		Values: map[string]string{
			"subject": opp.Subject, "customer": idOrEmpty(opp.RelationshipID), "estimated_amount": num(opp.EstimatedAmount),
			"probability": num(opp.Probability), "expected_order_date": views.DateValue(opp.ExpectedOrderDate),
			"rep": idOrEmpty(opp.SalesRepresentativeID),
		},
	}, nil
}

func (h *Handler) renderForm(c *fiber.Ctx, status int, form views.OpportunityForm) error {
	if web.IsHTMX(c) {
		// htmx swaps only 2xx answers; the panel with its errors is the answer.
		return web.Render(c, fiber.StatusOK, views.EditPanel(form))
	}
	return web.Render(c, status, views.EditPage(page(c, "Edit "+form.Number, "board"), form))
}

// renderSaved answers a saved edit: the panel again, and the card and its column's figures
// refreshed out of band.
func (h *Handler) renderSaved(c *fiber.Ctx, form views.OpportunityForm, opp *models.Activity) error {
	f, err := h.filterOfMutation(c)
	if err != nil {
		return err
	}
	f.PipelineID = opp.PipelineID
	cols, err := h.Store.Columns(c.UserContext(), f)
	if err != nil {
		return err
	}
	col, err := models.FindColumn(cols, opp.PhaseID)
	if err != nil {
		return err
	}
	card, err := h.Store.Card(c.UserContext(), opp.ID)
	if err != nil {
		return err
	}
	b, err := h.boardContext(c, f, phasesOf(cols))
	if err != nil {
		return err
	}
	one := []models.Card{*card}
	b.Usual.Mark(one, b.Now)
	return web.Render(c, fiber.StatusOK, joinComponents(
		views.EditPanel(form), views.Card(one[0], b, true), views.ColumnHeader(*col, true),
		views.Announce("Saved “"+opp.Subject+"”.")))
}
