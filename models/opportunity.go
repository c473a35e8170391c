package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Actor is who makes a change (recorded in the move history) and what they may do: Role is a
// user's or API client's role; the zero Role is the system itself (CLI, demo, tests).
type Actor struct {
	EmployeeID *uuid.UUID
	Role       string
}

// OpportunityChanges is a create or a partial update of a sales opportunity: nil fields are left
// as they are. For a nullable link, a pointer to uuid.Nil clears it; for ExpectedOrderDate a
// pointer to the zero Date clears it.
type OpportunityChanges struct {
	Subject               *string
	RelationshipID        *uuid.UUID
	ContactID             *uuid.UUID
	SourceID              *uuid.UUID
	SalesRepresentativeID *uuid.UUID
	PriceListID           *uuid.UUID
	LostReasonID          *uuid.UUID
	LostToCompetitorID    *uuid.UUID
	PipelineID            *uuid.UUID // only on create; a move to another pipeline is not a phase move
	PhaseID               *uuid.UUID
	EstimatedAmount       *float64
	Probability           *float64
	ExpectedOrderDate     *Date
	Amount                *float64
	Currency              *string
	RelationDescription   *string
	ImportID              *string
	ForecastCategory      *string // "" clears it: the phase's category applies again
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

	// Position within the target column: the card above and the card below the drop point.
	// Both empty places the card at the top of its column.
	AfterID  *uuid.UUID
	BeforeID *uuid.UUID

	// ExpectedVersion, when set, refuses the change if someone else changed the opportunity since.
	ExpectedVersion *int
}

// MoveResult tells what a change did, so that callers can refresh what changed.
type MoveResult struct {
	Opportunity     *Activity
	FromPhaseID     uuid.UUID
	ToPhaseID       uuid.UUID
	NeedsLostReason bool // entered a lost phase without a lost reason: the board asks for one
}

const maxSubjectLength = 500

// ErrVersionConflict refuses a change whose ExpectedVersion is stale (the API answers 412 to a
// stale If-Match with it); compare with errors.Is.
var ErrVersionConflict = &Error{Code: EConflict, Message: "This opportunity was changed by someone else in the meantime; reload to see the latest version."}

// The refusals of CanEditOpportunity, for the board and the API alike.
var (
	errNotYours     = Errorf(EForbidden, "This opportunity belongs to another rep: only they or a manager can change it.")
	errAssignOthers = &Error{Code: EForbidden, Field: "SalesRepresentative", Message: "As a rep you can only assign opportunities to yourself or leave them unassigned."}
)

// CreateOpportunity creates a sales opportunity. Without a pipeline it goes to its phase's
// pipeline, else to the first sales pipeline; without a phase to the pipeline's default (or
// first) phase, at the top of the column.
func (s *Store) CreateOpportunity(ctx context.Context, ch OpportunityChanges, actor Actor) (*Activity, error) {
	var out *Activity
	err := s.transact(ctx, func(tx *gorm.DB) error {
		now := s.now()
		a := &Activity{Currency: "EUR", Version: 1}
		a.stamp(TypeSalesOpportunity, now)
		zero := 0.0
		a.EstimatedAmount, a.WeightedAmount = &zero, &zero

		pid := ch.PipelineID
		if pid == nil && ch.PhaseID != nil {
			// Given only a phase (as API clients do), the opportunity goes to that phase's pipeline.
			var ph Phase
			if err := tx.Where("id = ? AND type = ?", *ch.PhaseID, PhaseType("SalesOpportunity")).Take(&ph).Error; err == nil {
				pid = &ph.PipelineID
			}
		}
		pipelineID, err := s.pipelineForCreate(tx, pid)
		if err != nil {
			return err
		}
		a.PipelineID = pipelineID
		if ch.Subject == nil {
			return FieldError("Subject", "Subject is required.")
		}
		phaseID := ch.PhaseID
		if phaseID == nil {
			id, err := s.defaultPhase(tx, pipelineID)
			if err != nil {
				return err
			}
			phaseID = &id
		}
		ch.PhaseID = phaseID
		if err := s.apply(tx, a, ch, actor, now, true); err != nil {
			return err
		}
		if !CanEditOpportunity(actor, a) {
			return errAssignOthers
		}
		if a.Number, err = s.nextNumber(tx, a.Type, now.Year()); err != nil {
			return err
		}
		if err := tx.Create(a).Error; err != nil {
			return mapDBError(err, "ImportId")
		}
		if err := recordPhaseChange(tx, a, nil, actor, now); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// UpdateOpportunity applies a partial update. A change of phase is a move with all its rules.
func (s *Store) UpdateOpportunity(ctx context.Context, id uuid.UUID, ch OpportunityChanges, actor Actor) (*MoveResult, error) {
	var res *MoveResult
	err := s.transact(ctx, func(tx *gorm.DB) error {
		a, err := s.lockOpportunity(tx, id)
		if err != nil {
			return err
		}
		res, err = s.update(tx, a, ch, actor, s.now())
		return err
	})
	return res, err
}

// update applies ch to a, locked in tx, and saves it: the body of UpdateOpportunity, shared
// with the bulk move of an admin retiring a phase, so both follow the same rules.
func (s *Store) update(tx *gorm.DB, a *Activity, ch OpportunityChanges, actor Actor, now time.Time) (*MoveResult, error) {
	if ch.ExpectedVersion != nil && *ch.ExpectedVersion != a.Version {
		return nil, ErrVersionConflict
	}
	if ch.PipelineID != nil && *ch.PipelineID != a.PipelineID {
		return nil, FieldError("Pipeline", "An opportunity cannot change pipeline; create it in the other pipeline instead.")
	}
	if !CanEditOpportunity(actor, a) {
		return nil, errNotYours
	}
	from := a.PhaseID
	if err := s.apply(tx, a, ch, actor, now, false); err != nil {
		return nil, err
	}
	if !CanEditOpportunity(actor, a) {
		return nil, errAssignOthers
	}
	a.Version++
	a.LastMutationDate = now
	if err := tx.Select("*").Omit("id", "creation_date", "number", "type").Save(a).Error; err != nil {
		return nil, mapDBError(err, "ImportId")
	}
	if a.PhaseID != from {
		if err := recordPhaseChange(tx, a, &from, actor, now); err != nil {
			return nil, err
		}
	}
	res := &MoveResult{Opportunity: a, FromPhaseID: from, ToPhaseID: a.PhaseID}
	res.NeedsLostReason = a.PhaseID != from && a.LostReasonID == nil && a.IsClosed && ptrValue(a.Probability) == 0
	return res, nil
}

// MoveOpportunity moves a card to a phase and a place in its column: the one move used by
// dragging, by the keyboard "Move to" control and by the API.
func (s *Store) MoveOpportunity(ctx context.Context, id, phaseID uuid.UUID, afterID, beforeID *uuid.UUID, actor Actor) (*MoveResult, error) {
	return s.UpdateOpportunity(ctx, id, OpportunityChanges{PhaseID: &phaseID, AfterID: afterID, BeforeID: beforeID}, actor)
}

// DeleteOpportunity removes an opportunity with its lines and history, if actor may edit it.
func (s *Store) DeleteOpportunity(ctx context.Context, id uuid.UUID, actor Actor) error {
	return s.DeleteOpportunityVersion(ctx, id, nil, actor)
}

// DeleteOpportunityVersion is DeleteOpportunity refused with ErrVersionConflict when
// expectedVersion is set and stale (an API DELETE with If-Match).
func (s *Store) DeleteOpportunityVersion(ctx context.Context, id uuid.UUID, expectedVersion *int, actor Actor) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		a, err := s.lockOpportunity(tx, id)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != a.Version {
			return ErrVersionConflict
		}
		if !CanEditOpportunity(actor, a) {
			return errNotYours
		}
		return tx.Where("id = ?", id).Delete(&Activity{}).Error
	})
}

// apply validates ch and applies it to a (not yet saved). It is the single place where the
// opportunity rules live: phase membership, probability, closing, weighting and ordering.
func (s *Store) apply(tx *gorm.DB, a *Activity, ch OpportunityChanges, actor Actor, now time.Time, creating bool) error {
	if ch.Subject != nil {
		subj := strings.TrimSpace(*ch.Subject)
		switch {
		case subj == "":
			return FieldError("Subject", "Subject is required.")
		case len([]rune(subj)) > maxSubjectLength:
			return FieldError("Subject", "Subject is longer than %d characters.", maxSubjectLength)
		}
		a.Subject = subj
	}
	if ch.Currency != nil {
		c := strings.ToUpper(strings.TrimSpace(*ch.Currency))
		if len(c) != 3 {
			return FieldError("Currency", "Currency must be a three-letter code such as EUR.")
		}
		a.Currency = c
	}
	if ch.RelationDescription != nil {
		a.RelationDescription = *ch.RelationDescription
	}
	if ch.ImportID != nil {
		if *ch.ImportID == "" {
			a.ImportID = nil
		} else {
			v := *ch.ImportID
			a.ImportID = &v
		}
	}
	if ch.ForecastCategory != nil {
		switch c := *ch.ForecastCategory; {
		case c == "":
			a.ForecastCategory = nil
		case !ValidForecastCategory(c):
			return FieldError("ForecastCategory", "Forecast category must be Pipeline, BestCase, Commit, Closed or Omitted.")
		default:
			a.ForecastCategory = &c
		}
	}
	if ch.Amount != nil {
		if err := checkAmount("Amount", *ch.Amount); err != nil {
			return err
		}
		a.Amount = *ch.Amount
	}
	if ch.EstimatedAmount != nil {
		if err := checkAmount("EstimatedAmount", *ch.EstimatedAmount); err != nil {
			return err
		}
		v := *ch.EstimatedAmount
		a.EstimatedAmount = &v
	}
	if ch.IsVatIncluded != nil {
		a.IsVatIncluded = *ch.IsVatIncluded
	}
	if ch.DiscountPercentage != nil {
		p := *ch.DiscountPercentage
		if math.IsNaN(p) || p < 0 || p > 100 {
			return FieldError("DiscountPercentage", "DiscountPercentage must be between 0 and 100.")
		}
		a.DiscountPercentage = p
	}
	money := []struct {
		field  string
		in     *float64
		target *float64
	}{
		{"BillingAmount", ch.BillingAmount, &a.BillingAmount},
		{"BillingAmountInCurrency", ch.BillingAmountInCurrency, &a.BillingAmountInCurrency},
		{"AmountInCurrency", ch.AmountInCurrency, &a.AmountInCurrency},
		{"TotalSalesIncludingVAT", ch.TotalSalesIncludingVAT, &a.TotalSalesIncludingVAT},
		{"VatAmount", ch.VatAmount, &a.VatAmount},
		{"TotalDiscountExcludingVAT", ch.TotalDiscountExcludingVAT, &a.TotalDiscountExcludingVAT},
		{"TotalMargin", ch.TotalMargin, &a.TotalMargin},
		{"TotalPurchaseAmount", ch.TotalPurchaseAmount, &a.TotalPurchaseAmount},
	}
	for _, m := range money {
		if m.in == nil {
			continue
		}
		v := *m.in
		if m.field == "TotalMargin" && v < 0 { // a loss-making deal has a negative margin
			v = -v
		}
		if err := checkAmount(m.field, v); err != nil {
			return err
		}
		*m.target = *m.in
	}
	if ch.ExpectedOrderDate != nil {
		if ch.ExpectedOrderDate.IsZero() {
			a.ExpectedOrderDate = nil
		} else {
			d := *ch.ExpectedOrderDate
			a.ExpectedOrderDate = &d
		}
	}
	links := []struct {
		field  string
		in     *uuid.UUID
		target **uuid.UUID
		model  any
	}{
		{"Relationship", ch.RelationshipID, &a.RelationshipID, &Relationship{}},
		{"Contact", ch.ContactID, &a.ContactID, &Contact{}},
		{"Source", ch.SourceID, &a.SourceID, &Source{}},
		{"SalesRepresentative", ch.SalesRepresentativeID, &a.SalesRepresentativeID, &Employee{}},
		{"PriceList", ch.PriceListID, &a.PriceListID, &PriceList{}},
		{"LostReason", ch.LostReasonID, &a.LostReasonID, &LostReason{}},
		{"LostToCompetitor", ch.LostToCompetitorID, &a.LostToCompetitorID, &Competitor{}},
	}
	for _, l := range links {
		if l.in == nil {
			continue
		}
		if *l.in == uuid.Nil {
			*l.target = nil
			continue
		}
		if err := mustExist(tx, l.model, *l.in, l.field); err != nil {
			return err
		}
		id := *l.in
		*l.target = &id
	}

	if ch.PhaseID != nil {
		phase, err := s.lockPhase(tx, *ch.PhaseID)
		if err != nil {
			return err
		}
		if err := enterPhase(a, phase, now, creating); err != nil {
			return err
		}
		if err := s.place(tx, a, ch.AfterID, ch.BeforeID); err != nil {
			return err
		}
	}
	// An explicit probability wins over the phase default, except in a terminal phase, whose
	// outcome fixes it.
	if ch.Probability != nil {
		p := *ch.Probability
		if math.IsNaN(p) || p < 0 || p > 100 {
			return FieldError("Probability", "Probability must be between 0 and 100.")
		}
		if a.IsClosed && p != ptrValue(a.Probability) {
			return FieldError("Probability", "The probability of a closed opportunity follows its phase (won 100, lost 0).")
		}
		a.Probability = &p
	}
	if (a.LostReasonID != nil || a.LostToCompetitorID != nil) && !(a.IsClosed && ptrValue(a.Probability) == 0) {
		if ch.LostReasonID != nil || ch.LostToCompetitorID != nil {
			return FieldError("LostReason", "A lost reason can only be given for an opportunity in a lost phase.")
		}
	}
	a.recomputeWeighted()
	return nil
}

// enterPhase applies the rules of entering a phase: it must be a phase of the opportunity's
// pipeline and type; its default probability applies; a won end closes at 100, a lost end at 0,
// and leaving a terminal phase reopens.
func enterPhase(a *Activity, p *Phase, now time.Time, creating bool) error {
	if p.PipelineID != a.PipelineID || p.Type != PhaseType(strings.TrimPrefix(a.Type, "Activity.")) {
		return FieldError("Phase", "Phase %q belongs to another pipeline; pick a phase of this opportunity's pipeline.", p.Name)
	}
	if !p.IsActive {
		return FieldError("Phase", "Phase %q is archived.", p.Name)
	}
	if p.ID == a.PhaseID && !creating {
		return nil // a reorder within the column
	}
	a.PhaseID = p.ID
	a.PhaseEnteredAt = now
	switch {
	case p.IsTerminal && p.IsWon:
		a.IsClosed = true
		a.Probability = ptr(100.0)
	case p.IsTerminal:
		a.IsClosed = true
		a.Probability = ptr(0.0)
	default:
		a.IsClosed = false
		a.Probability = ptr(p.DefaultProbability)
		a.LostReasonID = nil
		a.LostToCompetitorID = nil
	}
	return nil
}

// recomputeWeighted keeps WeightedAmount = EstimatedAmount × Probability / 100.
func (a *Activity) recomputeWeighted() {
	w := ptrValue(a.EstimatedAmount) * ptrValue(a.Probability) / 100
	a.WeightedAmount = &w
}

func checkAmount(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
		return FieldError(field, "%s must be a number from 0 up to 1,000,000,000,000,000.", field)
	}
	return nil
}

func (s *Store) lockOpportunity(tx *gorm.DB, id uuid.UUID) (*Activity, error) {
	var a Activity
	err := s.forUpdate(tx).Where("id = ? AND type = ?", id, TypeSalesOpportunity).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That opportunity no longer exists.")
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

func (s *Store) pipelineForCreate(tx *gorm.DB, id *uuid.UUID) (uuid.UUID, error) {
	var p Pipeline
	q := tx.Where("activity_type = ? AND is_active", TypeSalesOpportunity)
	if id != nil {
		q = q.Where("id = ?", *id)
	}
	err := q.Order("sort_index, name").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return uuid.Nil, FieldError("Pipeline", "That sales pipeline does not exist.")
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
