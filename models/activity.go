package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The activity kernel: every write of an activity of any kind — a board drag, the keyboard
// "Move to", the no-JavaScript form, quick add, the edit panel, the forecast board, an admin's
// bulk move, an API create, update, phase change or delete — is CreateActivity, UpdateActivity
// or DeleteActivity, one transaction each, through apply (rules.go holds the rules themselves).

// Actor is who makes a change (recorded in the move history) and what they may do: Role is a
// user's or API client's role; the zero Role is the system itself (CLI, demo, tests).
type Actor struct {
	EmployeeID *uuid.UUID
	Role       string
}

// ActivityChanges is a create or a partial update of an activity of any kind: nil fields are
// left as they are. For a nullable link, a pointer to uuid.Nil clears it; for ExpectedOrderDate
// a pointer to the zero Date clears it. The fields marked "sales" are the sales opportunity's
// own: sent for another kind they are refused, naming the field.
type ActivityChanges struct {
	Subject               *string
	RelationshipID        *uuid.UUID
	ContactID             *uuid.UUID
	SalesRepresentativeID *uuid.UUID // the owner, for every kind (an extension beside the seeds)
	PriceListID           *uuid.UUID
	PipelineID            *uuid.UUID // only on create; a move to another pipeline is not a phase move
	PhaseID               *uuid.UUID
	Amount                *float64
	Currency              *string
	RelationDescription   *string
	ImportID              *string
	IsVatIncluded         *bool
	DiscountPercentage    *float64 // 0–100

	// The Activity money fields that integrations copy from their ERP (the seeds' inherited
	// fields). TotalSalesExcludingVAT and NumberOfProductLines are not here: product lines own them.
	BillingAmount             *float64
	BillingAmountInCurrency   *float64
	AmountInCurrency          *float64
	TotalSalesIncludingVAT    *float64
	VatAmount                 *float64
	TotalDiscountExcludingVAT *float64
	TotalMargin               *float64 // may be negative
	TotalPurchaseAmount       *float64

	SourceID           *uuid.UUID // sales
	LostReasonID       *uuid.UUID // sales
	LostToCompetitorID *uuid.UUID // sales
	EstimatedAmount    *float64   // sales
	Probability        *float64   // sales
	ExpectedOrderDate  *Date      // sales
	ForecastCategory   *string    // sales; "" clears it: the phase's category applies again

	// Custom are the values of the kind's custom fields to set (customfields.go).
	Custom CustomValues

	// Notes are created with the activity, in its transaction (a deep insert: notes.go); on
	// create only.
	Notes []NoteChanges

	// Position within the target column: the card above and the card below the drop point.
	// Both empty places the card at the top of its column.
	AfterID  *uuid.UUID
	BeforeID *uuid.UUID

	// ExpectedVersion, when set, refuses the change if someone else changed the activity since.
	ExpectedVersion *int
}

// MoveResult tells what a change did, so that callers can refresh what changed.
type MoveResult struct {
	Activity        *Activity
	Kind            *Kind
	FromPhaseID     uuid.UUID
	ToPhaseID       uuid.UUID
	NeedsLostReason bool // entered a lost phase without a lost reason: the board asks for one
}

// ErrVersionConflict refuses a change whose ExpectedVersion is stale (the API answers 412 to a
// stale If-Match with it); compare with errors.Is.
var ErrVersionConflict = &Error{Code: EConflict, Message: "This was changed by someone else in the meantime; reload to see the latest version."}

// The refusals of CanEditActivity, for the board and the API alike.
var (
	errNotYours     = Errorf(EForbidden, "This belongs to another rep: only they or a manager can change it.")
	errAssignOthers = &Error{Code: EForbidden, Field: "SalesRepresentative", Message: "As a rep you can only assign work to yourself or leave it unassigned."}
)

// CreateActivity creates an activity of kind k. Without a pipeline it goes to its phase's
// pipeline, else to the kind's first pipeline; without a phase to the pipeline's default (or
// first open) phase, at the top of the column. A rep's new activity is the rep's own unless
// another owner is named.
func (s *Store) CreateActivity(ctx context.Context, k *Kind, ch ActivityChanges, actor Actor) (*Activity, error) {
	var out *Activity
	err := s.transact(ctx, func(tx *gorm.DB) error {
		now := s.now()
		if ch.Subject == nil {
			return FieldError("Subject", "Subject is required.")
		}
		a := newActivity(k, now)
		pid := ch.PipelineID
		if pid == nil && ch.PhaseID != nil {
			// Given only a phase (as API clients do), the activity goes to that phase's pipeline.
			var ph Phase
			if err := tx.Where("id = ?", *ch.PhaseID).Take(&ph).Error; err == nil {
				pid = &ph.PipelineID
			}
		}
		pipelineID, err := s.pipelineForCreate(tx, k, pid)
		if err != nil {
			if ch.PipelineID == nil && ch.PhaseID != nil && ErrorCode(err) == EInvalid {
				// The pipeline came from the phase the client sent: say what it sent.
				return FieldError("Phase", "That phase is not a phase of %ss.", k.Noun)
			}
			return err
		}
		a.PipelineID = pipelineID
		if ch.PhaseID == nil {
			id, err := s.defaultPhase(tx, pipelineID)
			if err != nil {
				return err
			}
			ch.PhaseID = &id
		}
		if ch.SalesRepresentativeID == nil && actor.Role == RoleRep && actor.EmployeeID != nil {
			ch.SalesRepresentativeID = actor.EmployeeID
		}
		if _, err := s.apply(tx, k, a, ch, now, true); err != nil {
			return err
		}
		if !CanEditActivity(actor, a) {
			return errAssignOthers
		}
		if a.Number, err = s.nextNumber(tx, a.Type, now.Year()); err != nil {
			return err
		}
		if err := tx.Create(a).Error; err != nil {
			return mapDBError(err, "ImportId")
		}
		if err := s.writeCustomValues(ctx, tx, a.Type, a.ID, ch.Custom); err != nil {
			return err
		}
		if err := s.createNotes(tx, a, ch.Notes, actor); err != nil {
			return err
		}
		if err := recordPhaseChange(tx, a, nil, actor, now); err != nil {
			return err
		}
		out = a
		return s.emit(tx, activityChange(ChangeCreated, nil, a, actor, now))
	})
	return out, err
}

// UpdateActivity applies a partial update. A change of phase is a move with all its rules.
func (s *Store) UpdateActivity(ctx context.Context, id uuid.UUID, ch ActivityChanges, actor Actor) (*MoveResult, error) {
	var res *MoveResult
	err := s.transact(ctx, func(tx *gorm.DB) error {
		if ch.Notes != nil {
			return FieldError("Notes", "Notes are created with an activity; add more through the Note set.")
		}
		a, err := s.lockActivity(tx, id)
		if err != nil {
			return err
		}
		if res, err = s.update(tx, a, ch, actor, s.now()); err != nil {
			return err
		}
		return s.writeCustomValues(ctx, tx, a.Type, a.ID, ch.Custom)
	})
	return res, err
}

// MoveActivity moves a card to a phase and a place in its column: the one move used by
// dragging, by the keyboard "Move to" control and the no-JavaScript form. seen is the version
// the mover's page showed (nil: not known): a card changed since is not moved blindly but
// refused with ErrVersionConflict, and the board shows where it really is.
func (s *Store) MoveActivity(ctx context.Context, id, phaseID uuid.UUID, afterID, beforeID *uuid.UUID, seen *int, actor Actor) (*MoveResult, error) {
	return s.UpdateActivity(ctx, id, ActivityChanges{PhaseID: &phaseID, AfterID: afterID, BeforeID: beforeID, ExpectedVersion: seen}, actor)
}

// seenOr is the version a page saw, or read when it sent none: a move of the forecast board
// reads the card first, and the change must be made to what it read.
func seenOr(seen *int, read int) *int {
	if seen != nil {
		return seen
	}
	return &read
}

// update applies ch to a, locked in tx, and saves it: the body of UpdateActivity, shared with
// the bulk move of an admin retiring a phase, so that both follow the same rules.
func (s *Store) update(tx *gorm.DB, a *Activity, ch ActivityChanges, actor Actor, now time.Time) (*MoveResult, error) {
	k := KindByType(a.Type)
	if ch.ExpectedVersion != nil && *ch.ExpectedVersion != a.Version {
		return nil, ErrVersionConflict
	}
	if ch.PipelineID != nil && *ch.PipelineID != a.PipelineID {
		return nil, FieldError("Pipeline", "A%s %s cannot change pipeline; create it in the other pipeline instead.", article(k.Noun), k.Noun)
	}
	if !CanEditActivity(actor, a) {
		return nil, errNotYours
	}
	before := *a
	entered, err := s.apply(tx, k, a, ch, now, false)
	if err != nil {
		return nil, err
	}
	if !CanEditActivity(actor, a) {
		return nil, errAssignOthers
	}
	a.Version++
	a.LastMutationDate = now
	if err := tx.Select("*").Omit("id", "creation_date", "number", "type").Save(a).Error; err != nil {
		return nil, mapDBError(err, "ImportId")
	}
	if a.PhaseID != before.PhaseID {
		if err := recordPhaseChange(tx, a, &before.PhaseID, actor, now); err != nil {
			return nil, err
		}
	}
	if err := s.emit(tx, activityChange(ChangeUpdated, &before, a, actor, now)); err != nil {
		return nil, err
	}
	res := &MoveResult{Activity: a, Kind: k, FromPhaseID: before.PhaseID, ToPhaseID: a.PhaseID}
	res.NeedsLostReason = k.Sales && entered != nil && entered.IsLost() && a.LostReasonID == nil
	return res, nil
}

// DeleteActivity removes an activity with its lines and history, if actor may edit it.
// expectedVersion, when set and stale, refuses it with ErrVersionConflict (an API DELETE with
// If-Match).
func (s *Store) DeleteActivity(ctx context.Context, id uuid.UUID, expectedVersion *int, actor Actor) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		a, err := s.lockActivity(tx, id)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != a.Version {
			return ErrVersionConflict
		}
		if !CanEditActivity(actor, a) {
			return errNotYours
		}
		if err := tx.Where("id = ?", id).Delete(&Activity{}).Error; err != nil {
			return err
		}
		if err := deleteCustomValues(tx, id); err != nil {
			return err
		}
		return s.emit(tx, activityChange(ChangeDeleted, a, nil, actor, s.now()))
	})
}

// Activity loads one activity of any kind that the ctx's actor may read.
func (s *Store) Activity(ctx context.Context, id uuid.UUID) (*Activity, error) {
	var a Activity
	err := s.db(ctx).Where("id = ?", id).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !s.readScope(ctx).Allows(&a)) {
		return nil, Errorf(ENotFound, "That no longer exists.")
	}
	return &a, err
}

// apply validates ch and applies it to a (not yet saved): the rules of rules.go plus what needs
// the database (links exist, the phase is locked, the place in the column). It returns the
// phase a entered, if ch moved it.
func (s *Store) apply(tx *gorm.DB, k *Kind, a *Activity, ch ActivityChanges, now time.Time, creating bool) (*Phase, error) {
	if err := refuseSalesFields(k, ch); err != nil {
		return nil, err
	}
	if err := applyFields(a, ch); err != nil {
		return nil, err
	}
	for _, l := range links(a, ch) {
		if l.in == nil {
			continue
		}
		if *l.in == uuid.Nil {
			*l.target = nil
			continue
		}
		if err := mustExist(tx, l.model, *l.in, l.field); err != nil {
			return nil, err
		}
		if l.field == "SalesRepresentative" && (*l.target == nil || **l.target != *l.in) {
			// Deactivating keeps a rep on their deals (history), but nobody new is given to them.
			if err := mustBeActiveEmployee(tx, *l.in); err != nil {
				return nil, err
			}
		}
		id := *l.in
		*l.target = &id
	}
	var entered *Phase
	if ch.PhaseID != nil {
		phase, err := s.lockPhase(tx, *ch.PhaseID)
		if err != nil {
			return nil, err
		}
		moved, err := enterPhase(k, a, phase, now, creating)
		if err != nil {
			return nil, err
		}
		if moved {
			entered = phase
		}
		if err := s.place(tx, a, ch.AfterID, ch.BeforeID); err != nil {
			return nil, err
		}
	}
	if k.Sales {
		if err := applySales(a, ch); err != nil {
			return nil, err
		}
	}
	return entered, nil
}

// link is one link field of ActivityChanges with the table its target lives in.
type link struct {
	field  string
	in     *uuid.UUID
	target **uuid.UUID
	model  any
}

func links(a *Activity, ch ActivityChanges) []link {
	return []link{
		{"Relationship", ch.RelationshipID, &a.RelationshipID, &Relationship{}},
		{"Contact", ch.ContactID, &a.ContactID, &Contact{}},
		{"Source", ch.SourceID, &a.SourceID, &Source{}},
		{"SalesRepresentative", ch.SalesRepresentativeID, &a.SalesRepresentativeID, &Employee{}},
		{"PriceList", ch.PriceListID, &a.PriceListID, &PriceList{}},
		{"LostReason", ch.LostReasonID, &a.LostReasonID, &LostReason{}},
		{"LostToCompetitor", ch.LostToCompetitorID, &a.LostToCompetitorID, &Competitor{}},
	}
}

// lockActivity loads an activity of any kind and, on PostgreSQL, locks it for the change.
func (s *Store) lockActivity(tx *gorm.DB, id uuid.UUID) (*Activity, error) {
	var a Activity
	err := s.forUpdate(tx).Where("id = ?", id).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That no longer exists.")
	}
	if err == nil && KindByType(a.Type) == nil {
		return nil, fmt.Errorf("activity %s has unknown type %q", id, a.Type)
	}
	return &a, err
}

// lockPhase loads a phase and, on PostgreSQL, locks it: moves into one column are serialised,
// so that their ordering (and a renumbering) never interleaves.
func (s *Store) lockPhase(tx *gorm.DB, id uuid.UUID) (*Phase, error) {
	var p Phase
	err := s.forUpdate(tx).Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, FieldError("Phase", "That phase does not exist.")
	}
	return &p, err
}

// pipelineForCreate is the pipeline a new activity of kind k goes to: id, which must be an
// active pipeline of that kind, or the kind's first active pipeline.
func (s *Store) pipelineForCreate(tx *gorm.DB, k *Kind, id *uuid.UUID) (uuid.UUID, error) {
	var p Pipeline
	q := tx.Where("activity_type = ? AND is_active", k.Type)
	if id != nil {
		q = q.Where("id = ?", *id)
	}
	err := q.Order("sort_index, name").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if id != nil {
			return uuid.Nil, FieldError("Pipeline", "That pipeline does not exist or is not a pipeline of %ss.", k.Noun)
		}
		return uuid.Nil, FieldError("Pipeline", "There is no active pipeline of %ss yet.", k.Noun)
	}
	return p.ID, err
}

func (s *Store) defaultPhase(tx *gorm.DB, pipelineID uuid.UUID) (uuid.UUID, error) {
	var p Phase
	err := tx.Where("pipeline_id = ? AND is_active AND NOT is_terminal", pipelineID).
		Order("is_default DESC, sort_index").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return uuid.Nil, FieldError("Phase", "The pipeline has no open phase.")
	}
	return p.ID, err
}

func mustExist(tx *gorm.DB, model any, id uuid.UUID, field string) error {
	var n int64
	if err := tx.Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return FieldError(field, "The chosen %s does not exist.", field)
	}
	return nil
}

// mustBeActiveEmployee refuses an employee who has been deactivated.
func mustBeActiveEmployee(tx *gorm.DB, id uuid.UUID) error {
	var n int64
	if err := tx.Model(&Employee{}).Where("id = ? AND is_active", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return FieldError("SalesRepresentative", "That employee is deactivated; choose an active one.")
	}
	return nil
}

func recordPhaseChange(tx *gorm.DB, a *Activity, from *uuid.UUID, actor Actor, now time.Time) error {
	return tx.Create(&PhaseChange{ID: uuid.New(), ActivityID: a.ID, FromPhaseID: from, ToPhaseID: a.PhaseID, MovedBy: actor.EmployeeID, MovedAt: now}).Error
}

// nextNumber hands out the next activity number of a type and year ("2026-00001"). The upsert
// takes a row lock, so concurrent creates never share a number.
func (s *Store) nextNumber(tx *gorm.DB, activityType string, year int) (string, error) {
	var n int
	err := tx.Raw(`INSERT INTO number_sequences (activity_type, year, last_value) VALUES (?, ?, 1)
		ON CONFLICT (activity_type, year) DO UPDATE SET last_value = number_sequences.last_value + 1
		RETURNING last_value`, activityType, year).Scan(&n).Error
	if err != nil {
		return "", err
	}
	return formatNumber(year, n), nil
}

func formatNumber(year, n int) string { return fmt.Sprintf("%d-%05d", year, n) }

func ptr[T any](v T) *T { return &v }

func ptrValue(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
