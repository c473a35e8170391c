package models

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// PhaseHealth is what the move history (phase_changes) tells about one phase.
type PhaseHealth struct {
	ForecastPhase
	Entered int64    // opportunities that ever entered the phase
	Won     int64    // of those, how many are won now
	WinRate *float64 // Won / Entered; nil when none entered
	Stays   int64    // completed stays (entered, then left) behind AvgDays
	AvgDays *float64 // average days of a completed stay; nil without any
	Rot     RotRule  // when an open opportunity in it rots
	Open    int64    // open opportunities in the phase now
	Rotting int64    // of those, how many are rotting (RotRule)
}

// RottingCard is an open opportunity idle in its phase longer than the phase's RotRule allows.
type RottingCard struct {
	Card
	PhaseName string
	Days      float64 // in the phase so far
}

// HealthFilter narrows pipeline health like the forecast: a pipeline and a rep, both optional.
type HealthFilter struct {
	PipelineID *uuid.UUID
	RepID      *uuid.UUID
}

// PipelineHealth computes, per phase, the win rate and the average days spent from the move
// history, and counts the open opportunities "rotting" in each (RotRule). It also returns up to
// limit rotting opportunities, the longest idle first.
//
// The figures come from the maintained phase_stats and open_ages (rollups.go); with SourceScan
// from the move history and the activities themselves (the same numbers, for benchmarks and
// tests).
func (s *Store) PipelineHealth(ctx context.Context, f HealthFilter, now time.Time, limit int) (phases []PhaseHealth, rotting []RottingCard, err error) {
	return s.PipelineHealthFrom(ctx, SourceLive, f, now, limit)
}

// PipelineHealthFrom is PipelineHealth from SourceLive or SourceScan.
func (s *Store) PipelineHealthFrom(ctx context.Context, src ForecastSource, f HealthFilter, now time.Time, limit int) (phases []PhaseHealth, rotting []RottingCard, err error) {
	err = s.report(ctx, func(r *Store) error {
		phases, rotting, err = r.pipelineHealth(ctx, src, f, now, limit)
		return err
	})
	return phases, rotting, err
}

func (s *Store) pipelineHealth(ctx context.Context, src ForecastSource, f HealthFilter, now time.Time, limit int) ([]PhaseHealth, []RottingCard, error) {
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
	where, args := s.healthWhere(ctx, f)
	if len(phases) == 0 {
		return out, nil, nil
	}

	var scope, won []uuid.UUID
	for _, p := range phases {
		scope = append(scope, p.ID)
		if p.IsTerminal && p.IsWon {
			won = append(won, p.ID)
		}
	}
	history := s.phaseHistory
	if src.kind == sourceScan {
		history = s.phaseHistoryScan
	}
	rows, err := history(ctx, scope, won, s.ownerCondition(ctx, f.RepID), true)
	if err != nil {
		return nil, nil, err
	}
	var (
		cond     []string
		condArgs []any
		cutoffs  = map[uuid.UUID]time.Time{}
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
		h.AvgDays = usualDays(r.Stays, r.Days)
	}
	for i := range out {
		h := &out[i]
		h.Rot = h.Phase.RotRule(h.Stays, h.AvgDays)
		if cutoff, ok := h.Rot.Cutoff(now); ok {
			cond = append(cond, "(a.phase_id = ? AND a.phase_entered_at < ?)")
			condArgs = append(condArgs, h.ID, cutoff)
			cutoffs[h.ID] = cutoff
		}
	}
	if src.kind != sourceScan {
		return s.openAndRotting(ctx, out, index, cutoffs, s.ownerCondition(ctx, f.RepID), where, args, now, limit)
	}

	// Open now, and rotting (RotRule): idle in the phase longer than its rule allows.
	rotting := "0"
	if len(cond) > 0 {
		rotting = "CASE WHEN " + strings.Join(cond, " OR ") + " THEN 1 ELSE 0 END"
	}
	var open []struct {
		PhaseID string
		Open    int64
		Rotting int64
	}
	q := s.db(ctx).Raw(`SELECT CAST(a.phase_id AS text) AS phase_id, COUNT(*) AS open, COALESCE(SUM(`+rotting+`), 0) AS rotting
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

	cards, err := scanCards(s.db(ctx).Table("activities AS a").
		Joins(joinCustomer).
		Joins(joinRep).
		Where("NOT a.is_closed AND "+where, args...).Where("("+strings.Join(cond, " OR ")+")", condArgs...).
		Select(cardColumns).Order("a.phase_entered_at, a.id").Limit(limit))
	if err != nil {
		return nil, nil, err
	}
	return out, rottingCards(out, index, cards, now), nil
}

// rottingCards is the list of rotting cards, from the cards and their phases' health.
func rottingCards(out []PhaseHealth, index map[string]int, cards []Card, now time.Time) []RottingCard {
	var list []RottingCard
	for _, c := range cards {
		h := out[index[c.PhaseID.String()]]
		days := now.Sub(c.PhaseEnteredAt).Hours() / 24
		c.Rot, c.Rotting = h.Rot, true
		list = append(list, RottingCard{Card: c, PhaseName: h.PipelineName + " · " + h.Name, Days: days})
	}
	return list
}

// healthWhere is the filter of the health queries over activities a: the filter's pipeline and
// rep, within what the ctx's actor may read.
func (s *Store) healthWhere(ctx context.Context, f HealthFilter) (string, []any) {
	where := "a.type = ?"
	args := []any{SalesOpportunity.Type}
	if f.PipelineID != nil {
		where += " AND a.pipeline_id = ?"
		args = append(args, *f.PipelineID)
	}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		where += " AND " + c.sql
		args = append(args, c.args...)
	}
	return where, args
}

// condition is an SQL condition with its bound arguments.
type condition struct {
	sql  string
	args []any
}

// ownerCondition limits activities a to a rep's (repID, when set) and to what the ctx's actor
// may read; "" when neither limits anything.
func (s *Store) ownerCondition(ctx context.Context, repID *uuid.UUID) condition {
	var c condition
	if repID != nil {
		c.sql, c.args = "a.sales_representative_id = ?", []any{*repID}
	}
	if cond, args := s.readScope(ctx).Where("a.sales_representative_id"); cond != "" {
		if c.sql != "" {
			c.sql += " AND "
		}
		c.sql += cond
		c.args = append(c.args, args...)
	}
	return c
}

// phaseHistoryRow is what the move history says about one phase (phaseHistory).
type phaseHistoryRow struct {
	PhaseID string
	Entered int64   // opportunities that ever entered it (full only)
	Won     int64   // of those, how many are in a won phase now (full only)
	Stays   int64   // completed stays: entered, then left
	Days    float64 // Σ days of the completed stays
}

// phaseHistoryScan is the one pass over the move history (phase_changes) of the phases in scope,
// optionally only of a rep's opportunities. A stay in a phase lasts from its change to the
// opportunity's next change (none yet: the stay goes on and is not counted). With full it
// also counts, per phase, the opportunities that ever entered it (once however often they
// came back) and of those the ones whose last change is into a phase of won; without it
// (the board's hot path) only the stays.
//
// Window functions rather than a GROUP BY per opportunity, which at a million changes is the
// slowest part. The scope's phases select the history without joining every activity (an
// opportunity never changes pipeline); only a rep filter or a limited reader needs the activities.
//
// This is the scan the maintained phase_stats replace (phaseHistory reads those); it stays for
// the benchmarks and tests that compare the two. Moves that share a timestamp keep the order
// they were made in (phase_changes' seq, SQLite's rowid), as the maintained stays do.
func (s *Store) phaseHistoryScan(ctx context.Context, scope, won []uuid.UUID, owner condition, full bool) ([]phaseHistoryRow, error) {
	if len(scope) == 0 {
		return nil, nil
	}
	var args []any
	isWon := "0 = 1"
	if full && len(won) > 0 {
		isWon = "x.now_in IN ?"
		args = append(args, won)
	}
	history := "pc.to_phase_id IN ?"
	args = append(args, scope)
	if owner.sql != "" {
		history += " AND pc.activity_id IN (SELECT a.id FROM activities a WHERE " + owner.sql + ")"
		args = append(args, owner.args...)
	}
	counts, windows := "0 AS entered, 0 AS won,", ""
	if full {
		counts = `SUM(CASE WHEN x.nth = 1 THEN 1 ELSE 0 END) AS entered,
			SUM(CASE WHEN x.nth = 1 AND ` + isWon + ` THEN 1 ELSE 0 END) AS won,`
		windows = `,
				LAST_VALUE(pc.to_phase_id) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS now_in,
				ROW_NUMBER() OVER (PARTITION BY pc.activity_id, pc.to_phase_id ORDER BY ` + s.sql.moveOrder + `) AS nth`
	}
	var rows []phaseHistoryRow
	err := s.db(ctx).Raw(`SELECT CAST(x.phase_id AS text) AS phase_id, `+counts+`
			COUNT(x.next_at) AS stays,
			COALESCE(SUM(`+s.sql.daysBetween("x.moved_at", "x.next_at")+`), 0) AS days
		FROM (SELECT pc.to_phase_id AS phase_id, pc.moved_at,
				LEAD(pc.moved_at) OVER w AS next_at`+windows+`
			FROM phase_changes pc
			WHERE `+history+`
			WINDOW w AS (PARTITION BY pc.activity_id ORDER BY `+s.sql.moveOrder+`)) x
		GROUP BY x.phase_id`, args...).Scan(&rows).Error
	return rows, err
}

// usualDays is the average days of a phase's completed stays; nil without any.
func usualDays(stays int64, days float64) *float64 {
	if stays <= 0 {
		return nil
	}
	avg := days / float64(stays)
	return &avg
}

// The rule of "rotting", one definition for the board's marks, the forecast's rotting list and
// pipeline health's counts. A mark must mean something to a rep, so a phase's usual time (the
// average of its completed stays) only counts once MinStaysForUsual stays are behind it, and
// nothing rots sooner than RotFloorDays whatever the average says. An admin's "rotting after N
// days" on the phase wins when set (as in Pipedrive). Terminal phases never rot.
const (
	MinStaysForUsual = 5
	RotFloorDays     = 7
)

// RotRule is when an open card in a phase rots: once idle in it longer than After days. The
// zero RotRule never rots.
type RotRule struct {
	After   float64  // days; 0: never
	Usual   *float64 // the phase's usual time behind After, when that decided it
	ByAdmin bool     // After is the phase's RotAfterDays
}

// RotRule is the phase's rule, given its completed stays and their average (nil: none).
func (p *Phase) RotRule(stays int64, avg *float64) RotRule {
	switch {
	case p.IsTerminal:
		return RotRule{}
	case p.RotAfterDays != nil && *p.RotAfterDays > 0:
		return RotRule{After: float64(*p.RotAfterDays), ByAdmin: true}
	case avg != nil && stays >= MinStaysForUsual:
		u := *avg
		return RotRule{After: max(u, RotFloorDays), Usual: &u}
	}
	return RotRule{}
}

// Cutoff is the phase entry time before which an open card rots, as of now; ok is false when
// nothing can rot under r.
func (r RotRule) Cutoff(now time.Time) (cutoff time.Time, ok bool) {
	if r.After <= 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(r.After * 24 * float64(time.Hour))), true
}

// RotRules is the RotRule of each phase of a pipeline that can rot; see RotRulesOf.
type RotRules map[uuid.UUID]RotRule

// UsualDaysInPhase returns the RotRule of each phase of one pipeline, by the same rule as
// PipelineHealth, for the board's rotting marks. Phases that cannot rot are absent.
//
// It is on the board's hot path (every page, every move's re-rendered columns) yet reads the
// pipeline's whole move history, so the answer is kept for usualDaysTTL: an average over the
// whole history hardly moves in a minute, and a card's own idle time, the other half of the
// rule, is always current. (An admin's change of a phase's limit shows within that minute.)
func (s *Store) UsualDaysInPhase(ctx context.Context, pipelineID uuid.UUID) (RotRules, error) {
	if u, ok := s.usual.get(pipelineID); ok {
		return u, nil
	}
	u, err := s.usualDaysInPhase(ctx, pipelineID)
	if err == nil {
		s.usual.put(pipelineID, u)
	}
	return u, err
}

func (s *Store) usualDaysInPhase(ctx context.Context, pipelineID uuid.UUID) (RotRules, error) {
	var phases []Phase
	if err := s.db(ctx).Where("pipeline_id = ?", pipelineID).Find(&phases).Error; err != nil {
		return nil, err
	}
	var scope []uuid.UUID
	for _, p := range phases {
		scope = append(scope, p.ID) // terminal ones too: entering one ends a stay
	}
	rows, err := s.phaseHistory(ctx, scope, nil, condition{}, false)
	if err != nil {
		return nil, err
	}
	byPhase := make(map[string]phaseHistoryRow, len(rows))
	for _, r := range rows {
		byPhase[r.PhaseID] = r
	}
	out := RotRules{}
	for _, p := range phases {
		r := byPhase[p.ID.String()]
		if rule := p.RotRule(r.Stays, usualDays(r.Stays, r.Days)); rule.After > 0 {
			out[p.ID] = rule
		}
	}
	return out, nil
}

// usualDaysTTL is how long UsualDaysInPhase keeps an answer.
const usualDaysTTL = time.Minute

// usualCache keeps UsualDaysInPhase's answers per pipeline, by the wall clock (not Store.Now,
// which tests move about). Its answers are shared: callers must not change them.
type usualCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]usualEntry
}

type usualEntry struct {
	at   time.Time
	days RotRules
}

func newUsualCache() *usualCache { return &usualCache{m: map[uuid.UUID]usualEntry{}} }

func (c *usualCache) get(pipelineID uuid.UUID) (RotRules, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[pipelineID]
	if !ok || time.Since(e.at) > usualDaysTTL {
		return nil, false
	}
	return e.days, true
}

func (c *usualCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func (c *usualCache) put(pipelineID uuid.UUID, u RotRules) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[pipelineID] = usualEntry{at: time.Now(), days: u}
}

// Mark sets the cards' Rot and Rotting as of now. Only open cards rot.
func (u RotRules) Mark(cards []Card, now time.Time) {
	for i := range cards {
		c := &cards[i]
		c.Rot = u[c.PhaseID]
		cutoff, ok := c.Rot.Cutoff(now)
		c.Rotting = ok && !c.IsClosed && c.PhaseEnteredAt.Before(cutoff)
	}
}
