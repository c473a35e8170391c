package handlers

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

func kindOf(p *models.Pipeline) string { return strings.TrimPrefix(p.ActivityType, "Activity.") }

func (h *Handler) renderPipelines(c *fiber.Ctx, kind string, status int, msg string) error {
	if !models.ValidActivityKind(kind) {
		kind = "SalesOpportunity"
	}
	ps, err := h.Store.AdminPipelines(c.UserContext(), kind)
	if err != nil {
		return err
	}
	v := views.AdminPipelinesView{AdminView: adminView(c, "Pipelines", "pipelines"), Kind: kind, Kinds: models.ActivityKinds, Pipelines: ps}
	v.Error = msg
	return web.Render(c, status, views.AdminPipelinesPage(v))
}

func backToPipelines(c *fiber.Ctx, kind string) error {
	return c.Redirect("/admin/pipelines?kind="+url.QueryEscape(kind), fiber.StatusSeeOther)
}

// AdminPipelines lists the pipelines of the activity kind in ?kind (sales by default).
func (h *Handler) AdminPipelines(c *fiber.Ctx) error {
	return h.renderPipelines(c, c.Query("kind"), fiber.StatusOK, "")
}

// AdminAddPipeline adds a pipeline.
func (h *Handler) AdminAddPipeline(c *fiber.Ctx) error {
	kind := c.FormValue("kind")
	p, err := h.Store.CreatePipeline(c.UserContext(), kind, c.FormValue("name"), web.ActorOf(c))
	if err != nil {
		return refused(err, func(msg string, status int) error { return h.renderPipelines(c, kind, status, msg) })
	}
	return c.Redirect("/admin/pipelines/"+p.ID.String(), fiber.StatusSeeOther)
}

// pipelineAction runs a change on the pipeline :id and goes back to its list.
func (h *Handler) pipelineAction(c *fiber.Ctx, change func(id uuid.UUID, actor models.Actor) error) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	p, err := h.Store.Pipeline(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := change(id, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderPipelines(c, kindOf(p), status, msg) })
	}
	return backToPipelines(c, kindOf(p))
}

// AdminRenamePipeline renames a pipeline.
func (h *Handler) AdminRenamePipeline(c *fiber.Ctx) error {
	return h.pipelineAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.RenamePipeline(c.UserContext(), id, c.FormValue("name"), a)
	})
}

// AdminMovePipeline moves a pipeline up or down.
func (h *Handler) AdminMovePipeline(c *fiber.Ctx) error {
	return h.pipelineAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.MovePipeline(c.UserContext(), id, c.FormValue("dir") == "up", a)
	})
}

// AdminSetPipelineActive archives or restores a pipeline.
func (h *Handler) AdminSetPipelineActive(c *fiber.Ctx) error {
	return h.pipelineAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.SetPipelineActive(c.UserContext(), id, formFlag(c, "active"), a)
	})
}

func (h *Handler) renderPhases(c *fiber.Ctx, pipelineID uuid.UUID, status int, msg string) error {
	p, err := h.Store.Pipeline(c.UserContext(), pipelineID)
	if err != nil {
		return err
	}
	phases, err := h.Store.AdminPhases(c.UserContext(), pipelineID)
	if err != nil {
		return err
	}
	v := views.AdminPhasesView{AdminView: adminView(c, "Phases of "+p.Name, "pipelines"), Pipeline: *p, Phases: phases}
	v.Error = msg
	return web.Render(c, status, views.AdminPhasesPage(v))
}

func backToPhases(c *fiber.Ctx, pipelineID uuid.UUID) error {
	return c.Redirect("/admin/pipelines/"+pipelineID.String(), fiber.StatusSeeOther)
}

// AdminPhases shows a pipeline's phases.
func (h *Handler) AdminPhases(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	return h.renderPhases(c, id, fiber.StatusOK, "")
}

// phaseInput reads the phase fields of a form; a malformed probability is the domain's error.
func phaseInput(c *fiber.Ctx) (models.PhaseInput, error) {
	in := models.PhaseInput{Name: c.FormValue("name")}
	if s := strings.TrimSpace(c.FormValue("probability")); s != "" {
		p, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return in, models.FieldError("DefaultProbability", "The default probability must be a number from 0 to 100.")
		}
		in.DefaultProbability = p
	}
	if s := strings.TrimSpace(c.FormValue("rot_after_days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return in, models.FieldError("RotAfterDays", "Rotting after is a whole number of days, or empty.")
		}
		in.RotAfterDays = &n
	}
	switch c.FormValue("outcome") {
	case "won":
		in.IsTerminal, in.IsWon = true, true
	case "lost":
		in.IsTerminal = true
	}
	return in, nil
}

// AdminAddPhase adds a phase to the pipeline :id.
func (h *Handler) AdminAddPhase(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	in, err := phaseInput(c)
	if err == nil {
		_, err = h.Store.CreatePhase(c.UserContext(), id, in, web.ActorOf(c))
	}
	if err != nil {
		return refused(err, func(msg string, status int) error { return h.renderPhases(c, id, status, msg) })
	}
	return backToPhases(c, id)
}

// phaseAction runs a change on the phase :id and goes back to its pipeline's phases.
func (h *Handler) phaseAction(c *fiber.Ctx, change func(id uuid.UUID, actor models.Actor) error) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	ph, err := h.Store.Phase(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := change(id, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderPhases(c, ph.PipelineID, status, msg) })
	}
	return backToPhases(c, ph.PipelineID)
}

// AdminSavePhase renames a phase and sets its probability and outcome.
func (h *Handler) AdminSavePhase(c *fiber.Ctx) error {
	return h.phaseAction(c, func(id uuid.UUID, a models.Actor) error {
		in, err := phaseInput(c)
		if err != nil {
			return err
		}
		return h.Store.UpdatePhase(c.UserContext(), id, in, a)
	})
}

// AdminMovePhase moves a phase left (up) or right.
func (h *Handler) AdminMovePhase(c *fiber.Ctx) error {
	return h.phaseAction(c, func(id uuid.UUID, a models.Actor) error {
		return h.Store.MovePhase(c.UserContext(), id, c.FormValue("dir") == "up", a)
	})
}

// AdminRestorePhase brings back an archived phase.
func (h *Handler) AdminRestorePhase(c *fiber.Ctx) error {
	return h.phaseAction(c, func(id uuid.UUID, a models.Actor) error { return h.Store.RestorePhase(c.UserContext(), id, a) })
}

func (h *Handler) renderRetire(c *fiber.Ctx, id uuid.UUID, remove bool, status int, msg string) error {
	ph, err := h.Store.Phase(c.UserContext(), id)
	if err != nil {
		return err
	}
	p, err := h.Store.Pipeline(c.UserContext(), ph.PipelineID)
	if err != nil {
		return err
	}
	n, err := h.Store.PhaseCount(c.UserContext(), id)
	if err != nil {
		return err
	}
	all, err := h.Store.Phases(c.UserContext(), ph.PipelineID)
	if err != nil {
		return err
	}
	var targets []models.Phase
	for _, t := range all {
		if t.ID != id {
			targets = append(targets, t)
		}
	}
	v := views.AdminRetireView{AdminView: adminView(c, "Retire "+ph.Name, "pipelines"), Pipeline: *p,
		Phase: models.AdminPhase{Phase: *ph, Count: n}, Targets: targets, Remove: remove}
	v.Error = msg
	return web.Render(c, status, views.AdminRetirePage(v))
}

// AdminRetirePhaseForm asks for confirmation and, when the phase holds opportunities, where
// they go.
func (h *Handler) AdminRetirePhaseForm(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	return h.renderRetire(c, id, c.Query("remove") == "1", fiber.StatusOK, "")
}

// AdminRetirePhase archives or deletes a phase after moving its opportunities.
func (h *Handler) AdminRetirePhase(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	remove := formFlag(c, "remove")
	target, err := optionalID(c.FormValue("target"), "target phase")
	if err != nil {
		return err
	}
	ph, err := h.Store.Phase(c.UserContext(), id)
	if err != nil {
		return err
	}
	if _, err := h.Store.RetirePhase(c.UserContext(), id, target, remove, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderRetire(c, id, remove, status, msg) })
	}
	return backToPhases(c, ph.PipelineID)
}
