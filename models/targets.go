package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Sales targets, as Tribe's SalesTarget: an Amount for a Person (an employee; none: the whole
// team's target), optionally of a SalesCategory, over a period. Phaseboard's periods are whole
// months or calendar quarters, StartDate to EndDate (an extension beside Tribe's fields, which
// leave the period to the installation). Amounts are in the reporting currency.
//
// The target of a period is the sum of the targets that lie within it: a quarter's is its
// quarter target or its months' targets. So that nothing counts twice, one person (or the
// team) has at most one target of a category on any day: a target that overlaps another is
// refused. The team's target of a period is the team target when one is set, else the sum of
// the reps' targets. The forecast compares targets without a category (opportunities carry no
// sales category); targets of a category are kept and served by the API.

// Discriminators of the target entities.
const (
	TypeSalesTarget   = "SalesTarget"
	TypeSalesCategory = "Datastore.SalesCategory"
)

// SalesCategory is a category sales targets may be about (Tribe's Datastore.SalesCategory).
type SalesCategory struct {
	Standard
	Name string
	Code string
}

func (SalesCategory) TableName() string { return "sales_categories" }

// SalesTarget is one target.
type SalesTarget struct {
	Standard
	Amount          float64
	PersonID        *uuid.UUID `gorm:"type:uuid"`
	SalesCategoryID *uuid.UUID `gorm:"type:uuid"`
	StartDate       Date
	EndDate         Date
}

func (SalesTarget) TableName() string { return "sales_targets" }

// TargetChanges creates or changes a target; nil fields stay, a pointer to uuid.Nil clears a
// link (PersonID: the team's target).
type TargetChanges struct {
	Amount          *float64
	PersonID        *uuid.UUID
	SalesCategoryID *uuid.UUID
	StartDate       *Date
	EndDate         *Date
	ImportID        *string
}

// CanSetTargets: managers and admins set targets and commit overrides (and the system).
func CanSetTargets(a Actor) bool { return a.Role == "" || a.Role == RoleManager || a.Role == RoleAdmin }

func mustSetTargets(a Actor) error {
	if !CanSetTargets(a) {
		return Errorf(EForbidden, "Only a manager can set targets and adjust commits.")
	}
	return nil
}

// SalesPeriod is a whole month or calendar quarter.
type SalesPeriod struct {
	Start, End Date
}

// CheckPeriod checks that start–end is a whole month or a whole calendar quarter.
func CheckPeriod(field string, start, end Date) (SalesPeriod, error) {
	p := SalesPeriod{start, end}
	switch {
	case start.IsZero() || end.IsZero():
		return p, FieldError(field, "A period needs its first and its last day.")
	case start.Day() != 1:
		return p, FieldError(field, "A period starts on the first day of a month.")
	case end.Equal(start.AddDate(0, 1, -1)):
		return p, nil
	case end.Equal(start.AddDate(0, 3, -1)) && (start.Month()-1)%3 == 0:
		return p, nil
	}
	return p, FieldError(field, "A period is a whole month or a whole calendar quarter (1 January–31 March, 1 April–30 June …).")
}

// Label is "Mar 2026" or "Q1 2026".
func (p SalesPeriod) Label() string {
	if p.IsQuarter() {
		return fmt.Sprintf("Q%d %d", (int(p.Start.Month())-1)/3+1, p.Start.Year())
	}
	return p.Start.Format("Jan 2006")
}

// IsQuarter reports whether the period is a quarter (else a month).
func (p SalesPeriod) IsQuarter() bool { return !p.End.Equal(p.Start.AddDate(0, 1, -1)) }

// SaveSalesCategory creates (id nil) or changes a sales category (admins).
func (s *Store) SaveSalesCategory(ctx context.Context, id *uuid.UUID, ch NamedChanges, actor Actor) (uuid.UUID, error) {
	if err := mustAdminister(actor); err != nil {
		return uuid.Nil, err
	}
	x := &SalesCategory{}
	err := s.saveRecord(ctx, x, id, TypeSalesCategory, "sales category", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		return applyNamed(&x.Name, &x.Code, ch, creating)
	}, nil)
	return x.ID, err
}

// DeleteSalesCategory removes a sales category no target uses (admins).
func (s *Store) DeleteSalesCategory(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.DeleteRecord(ctx, &SalesCategory{}, id, "sales category", actor)
}

// SaveTarget creates (id nil) or changes a target (managers and admins).
func (s *Store) SaveTarget(ctx context.Context, id *uuid.UUID, ch TargetChanges, actor Actor) (uuid.UUID, error) {
	if err := mustSetTargets(actor); err != nil {
		return uuid.Nil, err
	}
	t := &SalesTarget{}
	err := s.saveRecord(ctx, t, id, TypeSalesTarget, "target", ch.ImportID, nil, actor, func(tx *gorm.DB, creating bool) error {
		return s.applyTarget(tx, t, ch, creating)
	}, nil)
	return t.ID, err
}

// applyTarget checks ch and applies it to t (not yet saved).
func (s *Store) applyTarget(tx *gorm.DB, t *SalesTarget, ch TargetChanges, creating bool) error {
	if creating {
		switch {
		case ch.Amount == nil:
			return FieldError("Amount", "A target needs its Amount.")
		case ch.StartDate == nil || ch.EndDate == nil:
			return FieldError("StartDate", "A target needs its period: StartDate and EndDate (a whole month or quarter).")
		}
	}
	if ch.Amount != nil {
		if err := checkAmount("Amount", *ch.Amount); err != nil {
			return err
		}
		t.Amount = *ch.Amount
	}
	if ch.StartDate != nil {
		t.StartDate = *ch.StartDate
	}
	if ch.EndDate != nil {
		t.EndDate = *ch.EndDate
	}
	if _, err := CheckPeriod("StartDate", t.StartDate, t.EndDate); err != nil {
		return err
	}
	for _, l := range []struct {
		field  string
		in     *uuid.UUID
		target **uuid.UUID
		model  any
	}{{"Person", ch.PersonID, &t.PersonID, &Employee{}}, {"SalesCategory", ch.SalesCategoryID, &t.SalesCategoryID, &SalesCategory{}}} {
		switch {
		case l.in == nil:
		case *l.in == uuid.Nil:
			*l.target = nil
		default:
			if err := mustExist(tx, l.model, *l.in, l.field); err != nil {
				return err
			}
			id := *l.in
			*l.target = &id
		}
	}
	return s.refuseOverlap(tx, t)
}

// refuseOverlap refuses a target that shares a day with another of the same person (or the
// team) and category: the period's target would count twice.
func (s *Store) refuseOverlap(tx *gorm.DB, t *SalesTarget) error {
	q := tx.Model(&SalesTarget{}).Where("id <> ? AND start_date <= ? AND end_date >= ?", t.ID, t.EndDate, t.StartDate)
	q = nullableEq(q, "person_id", t.PersonID)
	q = nullableEq(q, "sales_category_id", t.SalesCategoryID)
	var other []SalesTarget
	if err := q.Limit(1).Find(&other).Error; err != nil {
		return err
	}
	if len(other) == 0 {
		return nil
	}
	o := other[0]
	return &Error{Code: EConflict, Field: "StartDate", Message: fmt.Sprintf("There is already a target from %s to %s for the same person and category: change that one, or remove it first.",
		o.StartDate, o.EndDate)}
}

func nullableEq(q *gorm.DB, col string, v *uuid.UUID) *gorm.DB {
	if v == nil {
		return q.Where(col + " IS NULL")
	}
	return q.Where(col+" = ?", *v)
}

// DeleteTarget removes a target (managers and admins).
func (s *Store) DeleteTarget(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := mustSetTargets(actor); err != nil {
		return err
	}
	return s.DeleteRecord(ctx, &SalesTarget{}, id, "target", actor)
}

// TargetCell is one cell of the targets page: a person's (nil: the team's) target for a
// period, without a category; a nil Amount removes it.
type TargetCell struct {
	PersonID *uuid.UUID
	Period   SalesPeriod
	Amount   *float64
}

// SetTargets saves a page of targets in one transaction: each cell creates, changes or removes
// the person's target of exactly that period. A refused cell refuses them all; the error names
// the cell's period.
func (s *Store) SetTargets(ctx context.Context, cells []TargetCell, actor Actor) error {
	if err := mustSetTargets(actor); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		tx, _ := ambientTx(ctx)
		for _, c := range cells {
			if _, err := CheckPeriod("period", c.Period.Start, c.Period.End); err != nil {
				return err
			}
			q := tx.Model(&SalesTarget{}).Where("start_date = ? AND end_date = ? AND sales_category_id IS NULL", c.Period.Start, c.Period.End)
			var existing []SalesTarget
			if err := nullableEq(q, "person_id", c.PersonID).Find(&existing).Error; err != nil {
				return err
			}
			var err error
			switch {
			case len(existing) > 0 && c.Amount == nil:
				err = s.DeleteTarget(ctx, existing[0].ID, actor)
			case len(existing) > 0:
				if existing[0].Amount != *c.Amount {
					_, err = s.SaveTarget(ctx, &existing[0].ID, TargetChanges{Amount: c.Amount}, actor)
				}
			case c.Amount != nil:
				person := c.PersonID
				if person == nil {
					person = &uuid.Nil
				}
				_, err = s.SaveTarget(ctx, nil, TargetChanges{Amount: c.Amount, PersonID: person, StartDate: &c.Period.Start, EndDate: &c.Period.End}, actor)
			}
			var de *Error
			if errors.As(err, &de) {
				return &Error{Code: de.Code, Field: de.Field, Message: c.Period.Label() + ": " + de.Message}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Targets lists the targets without a category that lie within [from, to] and that the ctx's
// actor may read (ReadScope, over the person: reps who see only their own see theirs and the
// team's), by period then person.
func (s *Store) Targets(ctx context.Context, from, to Date) ([]SalesTarget, error) {
	q := s.db(ctx).Table("sales_targets AS a").Where("a.sales_category_id IS NULL AND a.start_date >= ? AND a.end_date <= ?", from, to)
	if cond, args := s.readScope(ctx).Where("a.person_id"); cond != "" {
		q = q.Where(cond, args...)
	}
	var out []SalesTarget
	err := q.Select("a.*").Order("a.start_date, a.end_date, a.person_id").Find(&out).Error
	return out, err
}

// periodTargets is the targets of one forecast period: per person (id string, "" the team).
type periodTargets struct {
	byPerson map[string]float64
	team     *float64 // the team target, when one is set
}

// total is the team's target: its own, else the sum of the reps'; nil when there is none.
func (p periodTargets) total() *float64 {
	if p.team != nil {
		return p.team
	}
	if len(p.byPerson) == 0 {
		return nil
	}
	sum := 0.0
	for _, v := range p.byPerson {
		sum += v
	}
	return &sum
}

// targetsByPeriod adds targets up into the periods they lie within (rep: only that rep's).
func targetsByPeriod(periods []ForecastPeriod, targets []SalesTarget, rep *uuid.UUID) map[string]*periodTargets {
	out := map[string]*periodTargets{}
	for _, p := range periods {
		pt := &periodTargets{byPerson: map[string]float64{}}
		for _, t := range targets {
			if t.StartDate.Before(p.Start.Time) || t.EndDate.After(p.End.Time) {
				continue
			}
			switch {
			case rep != nil && (t.PersonID == nil || *t.PersonID != *rep):
			case t.PersonID == nil:
				v := t.Amount
				if pt.team != nil {
					v += *pt.team
				}
				pt.team = &v
			default:
				pt.byPerson[t.PersonID.String()] += t.Amount
			}
		}
		out[p.Key] = pt
	}
	return out
}

// Attainment is one rep's (or the team's) standing in a period against the target.
type Attainment struct {
	Key, Name string // rep id ("" unassigned); the team's row is Total
	ForecastFigures
	Target     *float64 // nil: no target set
	Attainment *float64 // Won ÷ Target
	// Coverage is open weighted ÷ what is left to win (Target − Won): nil without a target or
	// once the target is met (Met).
	Coverage *float64
	Met      bool
	Gap      float64 // Target − Won, 0 when met or without a target

	RepCommit     float64         // the rep's number: won + open commit
	Manager       *CommitOverride // the latest override of the period; nil: none
	ManagerCommit float64         // the manager's number: the override, else the rep's
	Difference    float64         // ManagerCommit − RepCommit
	Overrides     []CommitOverride
}

func (a *Attainment) compute() {
	a.RepCommit = a.Won + a.Commit
	a.ManagerCommit = a.RepCommit
	if a.Manager != nil {
		a.ManagerCommit = a.Manager.Amount
	}
	a.Difference = a.ManagerCommit - a.RepCommit
	if a.Target == nil {
		return
	}
	t := *a.Target
	if t > 0 {
		x := a.Won / t
		a.Attainment = &x
	}
	if left := t - a.Won; left > 0 {
		a.Gap = left
		c := a.Weighted / left
		a.Coverage = &c
	} else {
		a.Met = true
	}
}

// PeriodAttainment is the targets section of the forecast for one period: every rep, and the
// team.
type PeriodAttainment struct {
	Period      ForecastPeriod
	Reps        []Attainment
	Total       Attainment
	CanOverride bool // whether the reader may see and make manager overrides
}

// Attainment computes the targets section of period key of fc, for the ctx's actor: targets,
// won, weighted open, commit and best case, attainment and coverage per rep and in total, and
// (for managers) the manager's commit beside the rep's.
func (s *Store) Attainment(ctx context.Context, fc *Forecast, key string) (*PeriodAttainment, error) {
	var period *ForecastPeriod
	for i := range fc.Periods {
		if fc.Periods[i].Key == key {
			period = &fc.Periods[i]
		}
	}
	if period == nil {
		return nil, FieldError("period", "That period is not in the forecast's range.")
	}
	out := &PeriodAttainment{Period: *period, CanOverride: CanSetTargets(ActorFrom(ctx))}
	targets, err := s.Targets(ctx, period.Start, period.End)
	if err != nil {
		return nil, err
	}
	pt := targetsByPeriod([]ForecastPeriod{*period}, targets, fc.Filter.RepID)[period.Key]
	var overrides []CommitOverride
	if out.CanOverride {
		if overrides, err = s.CommitOverrides(ctx, SalesPeriod{period.Start, period.End}); err != nil {
			return nil, err
		}
	}
	// The reps: whoever has figures or a target in the period (the filter's rep alone, if any).
	rows := map[string]*Attainment{}
	for rep, fig := range fc.byPeriodRep[period.Key] {
		rows[rep] = &Attainment{Key: rep, ForecastFigures: *fig}
	}
	for rep, amount := range pt.byPerson {
		a := rows[rep]
		if a == nil {
			a = &Attainment{Key: rep}
			rows[rep] = a
		}
		v := amount
		a.Target = &v
	}
	for _, o := range overrides {
		rep := o.RepID.String()
		if fc.Filter.RepID != nil && rep != fc.Filter.RepID.String() {
			continue
		}
		a := rows[rep]
		if a == nil {
			a = &Attainment{Key: rep}
			rows[rep] = a
		}
		if a.Manager == nil {
			o := o
			a.Manager = &o
		}
		a.Overrides = append(a.Overrides, o)
	}
	names, err := s.employeeNames(ctx, rows)
	if err != nil {
		return nil, err
	}
	out.Total = Attainment{Key: "", Name: "Team", Target: pt.total()}
	for _, a := range rows {
		a.Name = names[a.Key]
		a.compute()
		out.Reps = append(out.Reps, *a)
		out.Total.ForecastFigures.add(a.ForecastFigures)
		out.Total.RepCommit += a.RepCommit
		out.Total.ManagerCommit += a.ManagerCommit
	}
	sort.Slice(out.Reps, func(i, j int) bool {
		a, b := out.Reps[i], out.Reps[j]
		if (a.Key == "") != (b.Key == "") {
			return b.Key == ""
		}
		if a.Name != b.Name {
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
		return a.Key < b.Key
	})
	manager := out.Total.ManagerCommit
	out.Total.compute()
	out.Total.ManagerCommit, out.Total.Difference = manager, manager-out.Total.RepCommit
	return out, nil
}

// employeeNames names the rows' reps ("" is unassigned).
func (s *Store) employeeNames(ctx context.Context, rows map[string]*Attainment) (map[string]string, error) {
	names := map[string]string{"": "Unassigned"}
	var ids []string
	for k := range rows {
		if k != "" {
			ids = append(ids, k)
		}
	}
	if len(ids) == 0 {
		return names, nil
	}
	var emps []Employee
	if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.id IN ?", ids).Find(&emps).Error; err != nil {
		return nil, err
	}
	for _, e := range emps {
		names[e.ID.String()] = e.FullName()
	}
	return names, nil
}

// DefaultPeriod is the forecast period the targets section shows first: the one holding today,
// else the first.
func (fc *Forecast) DefaultPeriod() string {
	for _, p := range fc.Periods {
		if !fc.Today.Before(p.Start.Time) && !fc.Today.After(p.End.Time) {
			return p.Key
		}
	}
	if len(fc.Periods) > 0 {
		return fc.Periods[0].Key
	}
	return ""
}

// ParsePeriodKey reads a period key ("2026-03" or "2026-Q1", as PeriodKey writes them).
func ParsePeriodKey(key string) (SalesPeriod, error) {
	if y, q, ok := strings.Cut(key, "-Q"); ok && len(y) == 4 && len(q) == 1 && q[0] >= '1' && q[0] <= '4' {
		d, err := ParseDate(y + "-01-01")
		if err == nil {
			start := NewDate(d.Year(), time.Month(3*int(q[0]-'1')+1), 1)
			return SalesPeriod{start, Date{start.AddDate(0, 3, -1)}}, nil
		}
	}
	d, err := ParseMonthKey(key)
	if err != nil {
		return SalesPeriod{}, FieldError("period", "A period is written as YYYY-MM or YYYY-Qn.")
	}
	return SalesPeriod{d, Date{d.AddDate(0, 1, -1)}}, nil
}
