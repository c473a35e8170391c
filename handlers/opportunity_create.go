package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
)

// CreateOpportunity is the quick add at the top of a column.
func (h *Handler) CreateOpportunity(c *fiber.Ctx) error {
	phaseID, err := optionalID(c.FormValue("phase_id"), "phase")
	if err != nil {
		return err
	}
	if phaseID == nil {
		return badRequest("Choose the phase to add the opportunity to.")
	}
	phase, err := h.Store.Phase(c.UserContext(), *phaseID)
	if err != nil {
		return err
	}
	subject := c.FormValue("subject")
	opp, err := h.Store.CreateOpportunity(c.UserContext(), models.OpportunityChanges{
		Subject: &subject, PhaseID: phaseID, PipelineID: &phase.PipelineID}, web.ActorOf(c))
	if err != nil {
		return err
	}
	f, err := h.filterOfMutation(c)
	if err != nil {
		return err
	}
	f.PipelineID = opp.PipelineID
	if !web.IsHTMX(c) {
		return backToBoard(c, f)
	}
	limits := map[uuid.UUID]int{opp.PhaseID: renderedCount(c, "to_count")}
	return h.refreshColumns(c, f, "Added “"+opp.Subject+"” to "+phase.Name+".", limits)
}
