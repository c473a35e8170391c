package handlers

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
)

// CreateActivity is the board's quick add, for any kind (the phase's pipeline says which):
// subject, customer (an existing one by name, or a new one), amount and, for a deal, the
// expected date. The page's filter and every field are checked before anything is written, and
// a new customer is added in the same transaction as the card, so a refused request writes
// nothing and a retry never duplicates the card; a rep's new card is the rep's.
func (h *Handler) CreateActivity(c *fiber.Ctx) error {
	phaseID, err := optionalID(c.FormValue("phase_id"), "phase")
	if err != nil {
		return err
	}
	if phaseID == nil {
		return badRequest("Choose the phase to add the card to.")
	}
	f, err := h.filterOfMutation(c)
	if err != nil {
		return err
	}
	phase, err := h.Store.Phase(c.UserContext(), *phaseID)
	if err != nil {
		return err
	}
	k := models.KindByPhaseType(phase.Type)
	if k == nil {
		return badRequest("That phase belongs to no activity kind.")
	}
	subject := c.FormValue("subject")
	ch := models.ActivityChanges{Subject: &subject, PhaseID: phaseID, PipelineID: &phase.PipelineID}
	amountField := "amount"
	if k.Sales {
		amountField = "estimated_amount"
	}
	if s := strings.ReplaceAll(strings.TrimSpace(c.FormValue(amountField)), ",", ""); s != "" {
		amount, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return badRequest("Enter the amount as a number, such as 12500.")
		}
		if k.Sales {
			ch.EstimatedAmount = &amount
		} else {
			ch.Amount = &amount
		}
	}
	if s := strings.TrimSpace(c.FormValue("expected_order_date")); s != "" && k.Sales {
		d, err := models.ParseDate(s)
		if err != nil {
			return badRequest("Enter the expected date as YYYY-MM-DD.")
		}
		ch.ExpectedOrderDate = &d
	}
	customer := strings.TrimSpace(c.FormValue("customer_name"))
	var a *models.Activity
	err = h.Store.InTx(c.UserContext(), func(ctx context.Context) error {
		if ch.RelationshipID, err = h.quickAddCustomer(ctx, c, customer); err != nil {
			return err
		}
		a, err = h.Store.CreateActivity(ctx, k, ch, web.ActorOf(c))
		return err
	})
	if err != nil {
		return err
	}
	f.PipelineID = a.PipelineID
	if !web.IsHTMX(c) {
		return backToBoard(c, f)
	}
	msg := "Added “" + a.Subject + "” to " + phase.Name + "."
	limits := map[uuid.UUID]int{a.PhaseID: renderedCount(c, "to_count")}
	if err := h.refreshColumns(c, f, msg, limits); err != nil {
		return h.afterCommit(c, err, msg)
	}
	return nil
}

// quickAddCustomer finds the customer a quick add names (by name, ignoring case), or adds it
// in ctx's transaction; an empty name is no customer.
func (h *Handler) quickAddCustomer(ctx context.Context, c *fiber.Ctx, name string) (*uuid.UUID, error) {
	if name == "" {
		return nil, nil
	}
	customers, err := h.Store.Relationships(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range customers {
		if strings.EqualFold(r.Name, name) {
			return &r.ID, nil
		}
	}
	id, err := h.Store.SaveRelationship(ctx, nil, models.RelationshipChanges{Name: &name}, web.ActorOf(c))
	if err != nil {
		return nil, err
	}
	return &id, nil
}
