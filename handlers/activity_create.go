package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
)

// CreateActivity is the quick add at the top of a column, for any kind: the phase's pipeline
// says which. The page's filter is checked before anything is written, so a refused request
// writes nothing and a retry never duplicates the card; a rep's new card is the rep's.
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
	a, err := h.Store.CreateActivity(c.UserContext(), k, models.ActivityChanges{
		Subject: &subject, PhaseID: phaseID, PipelineID: &phase.PipelineID}, web.ActorOf(c))
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
