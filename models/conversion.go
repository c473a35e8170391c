package models

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// Conversion and velocity of a pipeline, from the move history (phase_changes): the
// opportunities created in the filter's range (the cohort), how far each got, whether it was
// won or lost, and how long winning took.
//
//   - The stages are the pipeline's active open phases in order, then Won. An opportunity
//     reached a stage when it ever entered that stage or a later one (skipping a stage passes
//     it), or a won phase; lost phases reach nothing.
//   - Stage-to-stage conversion is reached(next) ÷ reached(stage).
//   - Win rate is won ÷ (won + lost), of the cohort's closed ones.
//   - Cycle time is the average days from creation to entering the won phase, of those won.
//
// Per rep is by the current owner; per period by the month or quarter of creation.

// ConversionFilter is what the conversion report covers; it lives in the URL.
type ConversionFilter struct {
	PipelineID uuid.UUID // a sales pipeline
	RepID      *uuid.UUID
	By         string // PeriodMonth or PeriodQuarter
	From, To   Date   // the periods of creation (normalised like the forecast's)
}

// FunnelRow is the funnel of one cohort (everyone, a rep, a period).
type FunnelRow struct {
	Key, Name  string
	Cohort     int64
	Reached    []int64    // per stage
	Conversion []*float64 // stage i to i+1 (len(Reached)−1); nil when nobody reached stage i
	Won, Lost  int64
	WinRate    *float64 // nil when none closed
	CycleDays  *float64 // nil when none won
	wonDays    float64
}

// Conversion is the report of one pipeline.
type Conversion struct {
	Filter   ConversionFilter
	Pipeline Pipeline
	Stages   []string // names: the open phases, then "Won"
	Total    FunnelRow
	ByRep    []FunnelRow
	ByPeriod []FunnelRow
}

func (r *FunnelRow) finish() {
	for i := 0; i+1 < len(r.Reached); i++ {
		var c *float64
		if r.Reached[i] > 0 {
			x := float64(r.Reached[i+1]) / float64(r.Reached[i])
			c = &x
		}
		r.Conversion = append(r.Conversion, c)
	}
	if closed := r.Won + r.Lost; closed > 0 {
		x := float64(r.Won) / float64(closed)
		r.WinRate = &x
	}
	if r.Won > 0 {
		x := r.wonDays / float64(r.Won)
		r.CycleDays = &x
	}
}

// ConversionReport computes the conversion and velocity of f's pipeline for the ctx's reader.
func (s *Store) ConversionReport(ctx context.Context, f ConversionFilter) (*Conversion, error) {
	ff, err := ForecastFilter{PipelineID: &f.PipelineID, By: f.By, From: f.From, To: f.To}.Normalised()
	if err != nil {
		return nil, err
	}
	f.By, f.From, f.To = ff.By, ff.From, ff.To
	var out *Conversion
	err = s.report(ctx, func(r *Store) error {
		out, err = r.conversion(ctx, f)
		return err
	})
	return out, err
}

func (s *Store) conversion(ctx context.Context, f ConversionFilter) (*Conversion, error) {
	var pl Pipeline
	if err := s.db(ctx).Where("id = ? AND activity_type = ?", f.PipelineID, SalesOpportunity.Type).Take(&pl).Error; err != nil {
		return nil, Errorf(ENotFound, "That sales pipeline does not exist.")
	}
	var phases []Phase
	if err := s.db(ctx).Where("pipeline_id = ?", pl.ID).Order("sort_index, name").Find(&phases).Error; err != nil {
		return nil, err
	}
	out := &Conversion{Filter: f, Pipeline: pl}
	var rank strings.Builder
	var args []any
	rank.WriteString("CASE")
	n := 0
	for _, p := range phases {
		if !p.IsTerminal && p.IsActive {
			n++
			out.Stages = append(out.Stages, p.Name)
			rank.WriteString(fmt.Sprintf(" WHEN pc.to_phase_id = ? THEN %d", n))
			args = append(args, p.ID)
		}
	}
	won := n + 1
	out.Stages = append(out.Stages, "Won")
	for _, p := range phases {
		if p.IsTerminal && p.IsWon {
			rank.WriteString(fmt.Sprintf(" WHEN pc.to_phase_id = ? THEN %d", won))
			args = append(args, p.ID)
		}
	}
	rank.WriteString(" ELSE 0 END")

	from, to := f.From.Time, f.To.AddDate(0, 0, 1)
	cohort := "a.type = ? AND a.pipeline_id = ? AND a.creation_date >= ? AND a.creation_date < ?"
	cargs := []any{SalesOpportunity.Type, pl.ID, from, to}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		cohort += " AND " + c.sql
		cargs = append(cargs, c.args...)
	}
	var rows []struct {
		Rep     string
		Period  string
		MaxRank int
		N       int64
		Won     int64
		Lost    int64
		WonDays float64
	}
	query := `SELECT COALESCE(CAST(a.sales_representative_id AS text), '') AS rep, ` + s.sql.period(f.By, "a.creation_date", true) + ` AS period,
			m.max_rank AS max_rank, COUNT(*) AS n,
			SUM(CASE WHEN ph.is_terminal AND ph.is_won THEN 1 ELSE 0 END) AS won,
			SUM(CASE WHEN ph.is_terminal AND NOT ph.is_won THEN 1 ELSE 0 END) AS lost,
			COALESCE(SUM(CASE WHEN ph.is_terminal AND ph.is_won THEN ` + s.sql.daysBetween("a.creation_date", "a.phase_entered_at") + ` END), 0) AS won_days
		FROM activities a
		JOIN phases ph ON ph.id = a.phase_id
		JOIN (SELECT pc.activity_id, MAX(` + rank.String() + `) AS max_rank
			FROM phase_changes pc WHERE pc.activity_id IN (SELECT a.id FROM activities a WHERE ` + cohort + `)
			GROUP BY pc.activity_id) m ON m.activity_id = a.id
		WHERE ` + cohort + `
		GROUP BY 1, 2, 3`
	all := append(append(append([]any{}, args...), cargs...), cargs...)
	if err := s.db(ctx).Raw(query, all...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	stages := len(out.Stages)
	newRow := func(key, name string) *FunnelRow {
		return &FunnelRow{Key: key, Name: name, Reached: make([]int64, stages)}
	}
	out.Total = *newRow("", "Everyone")
	byRep, byPeriod := map[string]*FunnelRow{}, map[string]*FunnelRow{}
	for _, p := range (ForecastFilter{By: f.By, From: f.From, To: f.To}).Periods() {
		byPeriod[p.Key] = newRow(p.Key, p.Label)
	}
	for _, r := range rows {
		targets := []*FunnelRow{&out.Total}
		if byRep[r.Rep] == nil {
			byRep[r.Rep] = newRow(r.Rep, "")
		}
		targets = append(targets, byRep[r.Rep])
		if p := byPeriod[r.Period]; p != nil {
			targets = append(targets, p)
		}
		for _, t := range targets {
			t.Cohort += r.N
			t.Won += r.Won
			t.Lost += r.Lost
			t.wonDays += r.WonDays
			for i := 1; i <= r.MaxRank && i <= stages; i++ {
				t.Reached[i-1] += r.N
			}
		}
	}
	out.Total.finish()
	names := map[string]string{"": "Unassigned"}
	var ids []string
	for k := range byRep {
		if k != "" {
			ids = append(ids, k)
		}
	}
	if len(ids) > 0 {
		var emps []Employee
		if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.id IN ?", ids).Find(&emps).Error; err != nil {
			return nil, err
		}
		for _, e := range emps {
			names[e.ID.String()] = e.FullName()
		}
	}
	for k, r := range byRep {
		r.Name = names[k]
		r.finish()
		out.ByRep = append(out.ByRep, *r)
	}
	sort.Slice(out.ByRep, func(i, j int) bool {
		a, b := out.ByRep[i], out.ByRep[j]
		if (a.Key == "") != (b.Key == "") {
			return b.Key == ""
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
	for _, p := range (ForecastFilter{By: f.By, From: f.From, To: f.To}).Periods() {
		r := byPeriod[p.Key]
		r.finish()
		out.ByPeriod = append(out.ByPeriod, *r)
	}
	return out, nil
}
