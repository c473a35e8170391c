package models

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Pipeline administration: pipelines and phases of any activity type, and lost reasons. Every
// function here is for admins (CanAdminister) and is one transaction.

const maxNameLength = 200

func cleanName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", FieldError(field, "A name is required.")
	case len([]rune(name)) > maxNameLength:
		return "", FieldError(field, "The name is longer than %d characters.", maxNameLength)
	}
	return name, nil
}

// ValidActivityKind reports whether kind is one of ActivityKinds.
func ValidActivityKind(kind string) bool { return slices.Contains(ActivityKinds, kind) }

// AdminPipelines lists the pipelines of an activity kind, archived ones included.
func (s *Store) AdminPipelines(ctx context.Context, kind string) ([]Pipeline, error) {
	var out []Pipeline
	err := s.db(ctx).Where("activity_type = ?", ActivityType(kind)).Order("sort_index, name").Find(&out).Error
	return out, err
}

// Pipeline loads one pipeline (archived or not).
func (s *Store) Pipeline(ctx context.Context, id uuid.UUID) (*Pipeline, error) {
	var p Pipeline
	err := s.db(ctx).Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That pipeline does not exist.")
	}
	return &p, err
}

// CreatePipeline adds an empty pipeline for an activity kind, after the existing ones.
func (s *Store) CreatePipeline(ctx context.Context, kind, name string, actor Actor) (*Pipeline, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	if !ValidActivityKind(kind) {
		return nil, FieldError("ActivityType", "Unknown activity type %q.", kind)
	}
	name, err := cleanName("Name", name)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{Name: name, ActivityType: ActivityType(kind)}
	err = s.transact(ctx, func(tx *gorm.DB) error {
		p.stamp(TypePipeline, s.now())
		last, err := maxSortIndex(tx.Model(&Pipeline{}).Where("activity_type = ?", p.ActivityType))
		if err != nil {
			return err
		}
		p.SortIndex = last + 1
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		return s.emit(tx, recordChange(p.Type, p.ID, ChangeCreated, actor, p.CreationDate))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// RenamePipeline renames a pipeline.
func (s *Store) RenamePipeline(ctx context.Context, id uuid.UUID, name string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	name, err := cleanName("Name", name)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		return s.updateOne(tx, &Pipeline{}, id, map[string]any{"name": name, "last_mutation_date": s.now()}, "pipeline", actor)
	})
}

// SetPipelineActive archives or restores a pipeline. Its opportunities stay where they are (the
// API still reaches them); the last active sales pipeline cannot go, as the board needs one.
func (s *Store) SetPipelineActive(ctx context.Context, id uuid.UUID, active bool, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		var p Pipeline
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&p).Error; err != nil {
			return notFound(err, "pipeline")
		}
		if !active && p.IsActive && p.ActivityType == SalesOpportunity.Type {
			var n int64
			if err := tx.Model(&Pipeline{}).Where("activity_type = ? AND is_active AND id <> ?", SalesOpportunity.Type, id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return Errorf(EInvalid, "This is the last active sales pipeline; add another before archiving it.")
			}
		}
		return s.updateOne(tx, &Pipeline{}, id, map[string]any{"is_active": active, "last_mutation_date": s.now()}, "pipeline", actor)
	})
}

// MovePipeline moves a pipeline one place up or down among those of its activity type.
func (s *Store) MovePipeline(ctx context.Context, id uuid.UUID, up bool, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		var p Pipeline
		if err := tx.Where("id = ?", id).Take(&p).Error; err != nil {
			return notFound(err, "pipeline")
		}
		var ids []uuid.UUID
		if err := s.forUpdate(tx.Model(&Pipeline{})).Where("activity_type = ?", p.ActivityType).Order("sort_index, name, id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		return s.reorder(tx, &Pipeline{}, ids, id, up, actor)
	})
}

// PhaseInput is what an admin sets on a phase. A won phase is terminal; a terminal phase's
// probability follows its outcome (won 100, lost 0).
type PhaseInput struct {
	Name               string
	DefaultProbability float64
	IsTerminal         bool
	IsWon              bool
	RotAfterDays       *int // "rotting after N days" (1–3650); nil: by its usual time
}

func (in *PhaseInput) normalise() error {
	if in.RotAfterDays != nil && (*in.RotAfterDays < 1 || *in.RotAfterDays > 3650) {
		return FieldError("RotAfterDays", "Rotting after must be a number of days from 1 to 3650, or empty.")
	}
	name, err := cleanName("Name", in.Name)
	if err != nil {
		return err
	}
	in.Name = name
	if in.IsWon {
		in.IsTerminal = true
	}
	p := in.DefaultProbability
	if math.IsNaN(p) || p < 0 || p > 100 {
		return FieldError("DefaultProbability", "The default probability must be between 0 and 100.")
	}
	if in.IsTerminal {
		in.DefaultProbability = 0
		if in.IsWon {
			in.DefaultProbability = 100
		}
	}
	return nil
}

// AdminPhase is a phase with how many activities it holds.
type AdminPhase struct {
	Phase
	Count int64
}

// AdminPhases lists a pipeline's phases, archived ones included, with their activity counts.
func (s *Store) AdminPhases(ctx context.Context, pipelineID uuid.UUID) ([]AdminPhase, error) {
	var phases []Phase
	if err := s.db(ctx).Where("pipeline_id = ?", pipelineID).Order("sort_index, name").Find(&phases).Error; err != nil {
		return nil, err
	}
	var counts []struct {
		PhaseID uuid.UUID
		N       int64
	}
	if err := s.db(ctx).Model(&Activity{}).Select("phase_id, COUNT(*) AS n").
		Where("pipeline_id = ?", pipelineID).Group("phase_id").Scan(&counts).Error; err != nil {
		return nil, err
	}
	out := make([]AdminPhase, len(phases))
	for i, p := range phases {
		out[i].Phase = p
		for _, c := range counts {
			if c.PhaseID == p.ID {
				out[i].Count = c.N
			}
		}
	}
	return out, nil
}

// CreatePhase adds a phase at the end of a pipeline.
func (s *Store) CreatePhase(ctx context.Context, pipelineID uuid.UUID, in PhaseInput, actor Actor) (*Phase, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	if err := in.normalise(); err != nil {
		return nil, err
	}
	var out *Phase
	err := s.transact(ctx, func(tx *gorm.DB) error {
		var p Pipeline
		if err := s.forUpdate(tx).Where("id = ?", pipelineID).Take(&p).Error; err != nil {
			return notFound(err, "pipeline")
		}
		last, err := maxSortIndex(tx.Model(&Phase{}).Where("pipeline_id = ?", pipelineID))
		if err != nil {
			return err
		}
		ph := &Phase{PipelineID: p.ID, Name: in.Name, LocalizedName: in.Name, IsAssignable: true, IsTerminal: in.IsTerminal,
			IsWon: in.IsWon, DefaultProbability: in.DefaultProbability, Icon: "circle", RotAfterDays: in.RotAfterDays}
		ph.stamp(PhaseType(strings.TrimPrefix(p.ActivityType, "Activity.")), s.now())
		ph.SortIndex = last + 1
		out = ph
		if err := tx.Create(ph).Error; err != nil {
			return err
		}
		return s.emit(tx, recordChange(ph.Type, ph.ID, ChangeCreated, actor, ph.CreationDate))
	})
	return out, err
}

// UpdatePhase renames a phase and sets its default probability and outcome. The outcome of a
// phase that holds activities cannot change: they were closed (or not) by entering it, so
// move them out first.
func (s *Store) UpdatePhase(ctx context.Context, id uuid.UUID, in PhaseInput, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	if err := in.normalise(); err != nil {
		return err
	}
	defer s.usual.clear() // a new "rotting after" shows at once (on this instance; others within usualDaysTTL)
	return s.transact(ctx, func(tx *gorm.DB) error {
		ph, err := s.lockPhase(tx, id)
		if err != nil {
			return Errorf(ENotFound, "That phase does not exist.")
		}
		if ph.IsTerminal != in.IsTerminal || ph.IsWon != in.IsWon {
			n, err := countIn(tx, id)
			if err != nil {
				return err
			}
			if n > 0 {
				return FieldError("IsTerminal", "%d activities are in %q; move them to another phase before changing whether it is won or lost.", n, ph.Name)
			}
		}
		return s.updateOne(tx, &Phase{}, id, map[string]any{"name": in.Name, "localized_name": in.Name,
			"default_probability": in.DefaultProbability, "is_terminal": in.IsTerminal, "is_won": in.IsWon,
			"rot_after_days": in.RotAfterDays, "last_mutation_date": s.now()}, "phase", actor)
	})
}

// MovePhase moves a phase one place left (up) or right within its pipeline.
func (s *Store) MovePhase(ctx context.Context, id uuid.UUID, up bool, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		var ph Phase
		if err := tx.Where("id = ?", id).Take(&ph).Error; err != nil {
			return notFound(err, "phase")
		}
		var ids []uuid.UUID
		if err := s.forUpdate(tx.Model(&Phase{})).Where("pipeline_id = ?", ph.PipelineID).Order("sort_index, name, id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		return s.reorder(tx, &Phase{}, ids, id, up, actor)
	})
}

// RestorePhase brings an archived phase back.
func (s *Store) RestorePhase(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		return s.updateOne(tx, &Phase{}, id, map[string]any{"is_active": true, "last_mutation_date": s.now()}, "phase", actor)
	})
}

// RetireResult tells what RetirePhase did.
type RetireResult struct {
	Moved   int  // activities moved to the target phase
	Deleted bool // the phase is gone; false: archived (kept because the history refers to it)
}

// PhaseCount is how many activities a phase holds (archived or not).
func (s *Store) PhaseCount(ctx context.Context, id uuid.UUID) (int64, error) {
	return countIn(s.db(ctx), id)
}

// RetirePhase archives (remove false) or deletes (remove true) a phase. Activities still in it
// are first moved to target, an active phase of the same pipeline, each by the same move as the
// board's (probability, closing, history); without a target they make it an EInvalid error on
// "Target". A deleted phase that the move history refers to is archived instead, so that no
// history is lost. Nothing is ever orphaned.
func (s *Store) RetirePhase(ctx context.Context, id uuid.UUID, target *uuid.UUID, remove bool, actor Actor) (*RetireResult, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	res := &RetireResult{}
	err := s.transact(ctx, func(tx *gorm.DB) error {
		*res = RetireResult{}
		now := s.now()
		ph, err := s.lockPhase(tx, id)
		if err != nil {
			return Errorf(ENotFound, "That phase does not exist.")
		}
		n, err := countIn(tx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			if target == nil || *target == uuid.Nil {
				return FieldError("Target", "%d activities are still in %q: choose the phase to move them to.", n, ph.Name)
			}
			if *target == id {
				return FieldError("Target", "Choose another phase to move the activities to.")
			}
			to, err := s.lockPhase(tx, *target)
			if err != nil {
				return err
			}
			if to.PipelineID != ph.PipelineID || !to.IsActive {
				return FieldError("Target", "Choose an active phase of the same pipeline.")
			}
			if res.Moved, err = s.moveAll(tx, id, *target, actor, now); err != nil {
				return err
			}
		}
		var refs int64
		if remove {
			if err := tx.Model(&PhaseChange{}).Where("from_phase_id = ? OR to_phase_id = ?", id, id).Count(&refs).Error; err != nil {
				return err
			}
		}
		if remove && refs == 0 {
			res.Deleted = true
			if err := tx.Where("id = ?", id).Delete(&Phase{}).Error; err != nil {
				return err
			}
			return s.emit(tx, recordChange(ph.Type, ph.ID, ChangeDeleted, actor, now))
		}
		return s.updateOne(tx, &Phase{}, id, map[string]any{"is_active": false, "is_default": false, "last_mutation_date": now}, "phase", actor)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// moveAll moves every activity of phase from to phase to, keeping their order: each goes to
// the top of the target column, so they are moved bottom first.
func (s *Store) moveAll(tx *gorm.DB, from, to uuid.UUID, actor Actor, now time.Time) (int, error) {
	var acts []Activity
	if err := s.forUpdate(tx).Where("phase_id = ?", from).Order("sort_index DESC, id DESC").Find(&acts).Error; err != nil {
		return 0, err
	}
	for i := range acts {
		if _, err := s.update(tx, &acts[i], ActivityChanges{PhaseID: &to}, actor, now); err != nil {
			return 0, err
		}
	}
	return len(acts), nil
}

// AdminLostReasons lists every lost reason, archived ones included.
func (s *Store) AdminLostReasons(ctx context.Context) ([]LostReason, error) {
	var out []LostReason
	err := s.db(ctx).Order("sort_index, name").Find(&out).Error
	return out, err
}

// CreateLostReason adds a lost reason at the end of the list.
func (s *Store) CreateLostReason(ctx context.Context, name string, actor Actor) (*LostReason, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	name, err := cleanName("Name", name)
	if err != nil {
		return nil, err
	}
	r := &LostReason{Name: name}
	err = s.transact(ctx, func(tx *gorm.DB) error {
		r.stamp(TypeLostReason, s.now())
		last, err := maxSortIndex(tx.Model(&LostReason{}))
		if err != nil {
			return err
		}
		r.SortIndex = last + 1
		if err := tx.Create(r).Error; err != nil {
			return err
		}
		return s.emit(tx, recordChange(r.Type, r.ID, ChangeCreated, actor, r.CreationDate))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RenameLostReason renames a lost reason.
func (s *Store) RenameLostReason(ctx context.Context, id uuid.UUID, name string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	name, err := cleanName("Name", name)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		return s.updateOne(tx, &LostReason{}, id, map[string]any{"name": name, "last_mutation_date": s.now()}, "lost reason", actor)
	})
}

// SetLostReasonActive archives or restores a lost reason. Opportunities lost for an archived
// reason keep it; it is only no longer offered.
func (s *Store) SetLostReasonActive(ctx context.Context, id uuid.UUID, active bool, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		return s.updateOne(tx, &LostReason{}, id, map[string]any{"is_active": active, "last_mutation_date": s.now()}, "lost reason", actor)
	})
}

// updateOne updates the record of model's table with id and reports the change.
func (s *Store) updateOne(tx *gorm.DB, model any, id uuid.UUID, set map[string]any, what string, actor Actor) error {
	res := tx.Model(model).Where("id = ?", id).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return Errorf(ENotFound, "That %s does not exist.", what)
	}
	return s.emitUpdated(tx, model, id, actor)
}

// emitUpdated reports an update of the record of model's table with id (its type read back).
func (s *Store) emitUpdated(tx *gorm.DB, model any, id uuid.UUID, actor Actor) error {
	var types []string
	if err := tx.Model(model).Where("id = ?", id).Limit(1).Pluck("type", &types).Error; err != nil || len(types) == 0 {
		return err
	}
	return s.emit(tx, recordChange(types[0], id, ChangeUpdated, actor, s.now()))
}

func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Errorf(ENotFound, "That %s does not exist.", what)
	}
	return err
}

func countIn(tx *gorm.DB, phaseID uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Activity{}).Where("phase_id = ?", phaseID).Count(&n).Error
	return n, err
}

func maxSortIndex(q *gorm.DB) (float64, error) {
	var v []float64
	if err := q.Select("COALESCE(MAX(sort_index), 0)").Pluck("sort_index", &v).Error; err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, nil
	}
	return v[0], nil
}

// reorder moves id one place up or down in ids (the siblings in order) and renumbers them
// 1, 2, 3 … so that ties in sort_index cannot make a move a no-op.
func (s *Store) reorder(tx *gorm.DB, model any, ids []uuid.UUID, id uuid.UUID, up bool, actor Actor) error {
	i := slices.Index(ids, id)
	if i < 0 {
		return Errorf(ENotFound, "That item does not exist.")
	}
	j := i + 1
	if up {
		j = i - 1
	}
	if j < 0 || j >= len(ids) {
		return nil // already first or last
	}
	ids[i], ids[j] = ids[j], ids[i]
	for k, x := range ids {
		if err := tx.Model(model).Where("id = ?", x).Update("sort_index", float64(k+1)).Error; err != nil {
			return err
		}
		if err := s.emitUpdated(tx, model, x, actor); err != nil {
			return err
		}
	}
	return nil
}
