package models

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"phaseboard/migrations"
)

// PhaseHealth is what the move history (phase_changes) tells about one phase.
type PhaseHealth struct {
	ForecastPhase
	Entered int64    // opportunities that ever entered the phase
	Won     int64    // of those, how many are won now
	WinRate *float64 // Won / Entered; nil when none entered
	Stays   int64    // completed stays (entered, then left) behind AvgDays
	AvgDays *float64 // average days of a completed stay; nil without any
	Open    int64    // open opportunities in the phase now
	Rotting int64    // of those, how many have been idle in it longer than AvgDays
}

// RottingCard is an open opportunity idle in its phase longer than the phase's usual time.
type RottingCard struct {
	Card
	PhaseName string
	Days      float64 // in the phase so far
	AvgDays   float64 // the phase's average
}

// HealthFilter narrows pipeline health like the forecast: a pipeline and a rep, both optional.
type HealthFilter struct {
	PipelineID *uuid.UUID
	RepID      *uuid.UUID
}

// PipelineHealth computes, per phase, the win rate and the average days spent from the move
// history, and counts the open opportunities "rotting" in each: in their phase for longer than
// its average. It also returns up to limit rotting opportunities, the longest idle first.
func (s *Store) PipelineHealth(ctx context.Context, f HealthFilter, now time.Time, limit int) (phases []PhaseHealth, rotting []RottingCard, err error) {
	err = s.report(ctx, func(r *Store) error {
		phases, rotting, err = r.pipelineHealth(ctx, f, now, limit)
		return err
	})
	return phases, rotting, err
}

func (s *Store) pipelineHealth(ctx context.Context, f HealthFilter, now time.Time, limit int) ([]PhaseHealth, []RottingCard, error) {
	_, phases, err := s.forecastScope(ctx, ForecastFilter{PipelineID: f.PipelineID})
	if err != nil {
		return nil, nil, err
	}
	out := make([]PhaseHealth, len(phases))
	index := map[string]int{}
	for i, p := range phases {
		out[i] = PhaseHealth{ForecastPhase: p}
		index[p.ID.String()] = i
	}
	where, args := s.healthWhere(f)
	if len(phases) == 0 {
		return out, nil, nil
	}

	// One pass over the move history, in each opportunity's order: a stay in a phase lasts
	// from its change to the next one (none yet: the stay goes on); the last change's phase
	// is where the opportunity is now (won or not); the first entry into a phase counts the
	// opportunity once however often it came back. Window functions rather than a GROUP BY
	// per opportunity, which at a million changes is the slowest part. The scope's phases
	// select the history without joining every activity (an opportunity never changes
	// pipeline); only a rep filter needs the activities.
	var scope, won []uuid.UUID
	for _, p := range phases {
		scope = append(scope, p.ID)
		if p.IsTerminal && p.IsWon {
			won = append(won, p.ID)
		}
	}
	isWon := "0 = 1"
	var hargs []any
	if len(won) > 0 {
		isWon = "x.now_in IN ?"
		hargs = append(hargs, won)
	}
	history := "pc.to_phase_id IN ?"
	hargs = append(hargs, scope)
	if f.RepID != nil {
		history += " AND pc.activity_id IN (SELECT a.id FROM activities a WHERE a.sales_representative_id = ?)"
		hargs = append(hargs, *f.RepID)
	}
	var rows []struct {
		PhaseID string
		Entered int64
		Won     int64
		Stays   int64
		Days    float64
	}
	err = s.DB.WithContext(ctx).Raw(`SELECT CAST(x.phase_id AS text) AS phase_id,
			SUM(CASE WHEN x.nth = 1 THEN 1 ELSE 0 END) AS entered,
			SUM(CASE WHEN x.nth = 1 AND `+isWon+` THEN 1 ELSE 0 END) AS won,
			COUNT(x.next_at) AS stays,
			COALESCE(SUM(`+s.daysBetween("x.moved_at", "x.next_at")+`), 0) AS days
		FROM (SELECT pc.to_phase_id AS phase_id, pc.moved_at,
				LEAD(pc.moved_at) OVER w AS next_at,
				LAST_VALUE(pc.to_phase_id) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS now_in,
				ROW_NUMBER() OVER (PARTITION BY pc.activity_id, pc.to_phase_id ORDER BY pc.moved_at, pc.id) AS nth
			FROM phase_changes pc
			WHERE `+history+`
			WINDOW w AS (PARTITION BY pc.activity_id ORDER BY pc.moved_at, pc.id)) x
		GROUP BY x.phase_id`, hargs...).Scan(&rows).Error
	if err != nil {
		return nil, nil, err
	}
	var (
		cond     []string
		condArgs []any
	)
	for _, r := range rows {
		i, ok := index[r.PhaseID]
		if !ok {
			continue
		}
		h := &out[i]
		h.Entered, h.Won, h.Stays = r.Entered, r.Won, r.Stays
		if r.Entered > 0 {
			rate := float64(r.Won) / float64(r.Entered)
			h.WinRate = &rate
		}
		if r.Stays == 0 {
			continue
		}
		avg := r.Days / float64(r.Stays)
		h.AvgDays = &avg
		if !h.IsTerminal {
			cond = append(cond, "(a.phase_id = ? AND a.phase_entered_at < ?)")
			condArgs = append(condArgs, h.ID, now.Add(-time.Duration(avg*24*float64(time.Hour))))
		}
	}

	// Open now, and rotting: idle longer than the phase's average.
	rotting := "0"
	if len(cond) > 0 {
		rotting = "CASE WHEN " + strings.Join(cond, " OR ") + " THEN 1 ELSE 0 END"
	}
	var open []struct {
		PhaseID string
		Open    int64
		Rotting int64
	}
	q := s.DB.WithContext(ctx).Raw(`SELECT CAST(a.phase_id AS text) AS phase_id, COUNT(*) AS open, COALESCE(SUM(`+rotting+`), 0) AS rotting
		FROM activities a WHERE NOT a.is_closed AND `+where+` GROUP BY a.phase_id`, append(condArgs, args...)...)
	if err := q.Scan(&open).Error; err != nil {
		return nil, nil, err
	}
	for _, r := range open {
		if i, ok := index[r.PhaseID]; ok {
			out[i].Open, out[i].Rotting = r.Open, r.Rotting
		}
	}
	if len(cond) == 0 || limit <= 0 {
		return out, nil, nil
	}

	var cards []Card
	err = s.DB.WithContext(ctx).Table("activities AS a").
		Joins("LEFT JOIN relationships r ON r.id = a.relationship_id").
		Joins("LEFT JOIN employees e ON e.id = a.sales_representative_id").
		Where("NOT a.is_closed AND "+where, args...).Where("("+strings.Join(cond, " OR ")+")", condArgs...).
		Select(cardColumns).Order("a.phase_entered_at, a.id").Limit(limit).Scan(&cards).Error
	if err != nil {
		return nil, nil, err
	}
	var list []RottingCard
	for _, c := range cards {
		h := out[index[c.PhaseID.String()]]
		days := now.Sub(c.PhaseEnteredAt).Hours() / 24
		list = append(list, RottingCard{Card: c, PhaseName: h.PipelineName + " · " + h.Name, Days: days, AvgDays: *h.AvgDays})
	}
	return out, list, nil
}

// healthWhere is the filter of the health queries over activities a.
func (s *Store) healthWhere(f HealthFilter) (string, []any) {
	where := "a.type = ?"
	args := []any{TypeSalesOpportunity}
	if f.PipelineID != nil {
		where += " AND a.pipeline_id = ?"
		args = append(args, *f.PipelineID)
	}
	if f.RepID != nil {
		where += " AND a.sales_representative_id = ?"
		args = append(args, *f.RepID)
	}
	return where, args
}

// daysBetween is the dialect's fractional days from timestamp column a to b.
func (s *Store) daysBetween(a, b string) string {
	if s.Dialect == migrations.Postgres {
		return "EXTRACT(EPOCH FROM (" + b + " - " + a + ")) / 86400.0"
	}
	return "(julianday(" + b + ") - julianday(" + a + "))"
}
