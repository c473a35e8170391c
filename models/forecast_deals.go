package models

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// DealsFilter names the deals behind one figure of the forecast: the forecast's filter (its
// pipeline, rep and range), one kind of figure (open, won, lost, overdue, no date, or one of
// pipeline health's), and optionally a phase and a forecast category (Commit; BestCase
// includes Commit); lost deals also by reason or competitor (the loss analysis).
type DealsFilter struct {
	ForecastFilter
	Kind       string // "open", "won", "lost", "overdue", "nodate", or a Deals… kind of health
	PhaseID    *uuid.UUID
	Category   string
	LostReason string // with "lost": a lost reason's id, or DealsNone for those lost without one
	Competitor string // with "lost": a competitor's id, or DealsNone
}

// DealsNone names the loss analysis's rows of deals lost without a reason or competitor.
const DealsNone = "none"

// Pipeline health's figures per phase (PipelineHealth), by the same rules over the move history;
// they take the forecast's pipeline and rep, not its range, and need a phase.
const (
	DealsEntered    = "entered"    // ever entered the phase (Entered, the win rate's base)
	DealsEnteredWon = "enteredwon" // of those, in a won phase now (Won since)
	DealsStayed     = "stayed"     // with a completed stay in the phase: entered, then left (average days)
	DealsInPhase    = "inphase"    // open in the phase now (Open now)
	DealsRotting    = "rotting"    // of those, idle longer than the phase's RotRule allows (Rotting)
)

// DealsPageSize is how many deals one page of the list behind a figure shows.
const DealsPageSize = 500

// DealsPage is one page of the deals behind a figure: page (from 1) of DealsPageSize, by
// expected date (undated last); More says a next page follows.
type DealsPage struct {
	Deals []ForecastCard
	Page  int
	More  bool
}

// ForecastDeals lists the deals a forecast figure counts, by the forecast's own rules (see
// forecastAggregate): open ones expected in the range from today on, overdue and undated open
// ones, and won and lost ones that closed in the range. One page (from 1) of DealsPageSize.
func (s *Store) ForecastDeals(ctx context.Context, f DealsFilter, today Date, page int) (*DealsPage, error) {
	if page < 1 {
		return nil, FieldError("page", "Pages are numbered from 1.")
	}
	out := &DealsPage{Page: page}
	q, err := s.dealsQuery(ctx, f, today)
	if err != nil || q == nil {
		return out, err
	}
	// Offset paging: the order is total (the id breaks ties), and a page's link names it.
	err = q.Select(forecastCardColumns).Order("CASE WHEN a.expected_order_date IS NULL THEN 1 ELSE 0 END, a.expected_order_date, a.id").
		Offset((page - 1) * DealsPageSize).Limit(DealsPageSize + 1).Scan(&out.Deals).Error
	if len(out.Deals) > DealsPageSize {
		out.Deals, out.More = out.Deals[:DealsPageSize], true
	}
	return out, err
}

// DealsTotals are the count and sums of all the deals behind a figure, never a sum of mixed
// currencies: Estimated and Weighted are in the reporting currency (Currency), each deal
// converted with the rate of its day as the forecast converts it; those without a rate are
// summed per currency in Unconverted instead.
type DealsTotals struct {
	Count               int64
	Currency            string
	Estimated, Weighted float64
	Unconverted         []CurrencyTotal
}

// CurrencyTotal is the count and sums of some deals in one currency.
type CurrencyTotal struct {
	Currency            string
	Count               int64
	Estimated, Weighted float64
}

// ForecastDealsTotals totals every deal ForecastDeals lists for f (on all its pages).
func (s *Store) ForecastDealsTotals(ctx context.Context, f DealsFilter, today Date) (DealsTotals, error) {
	q, err := s.dealsQuery(ctx, f, today)
	if err != nil {
		return DealsTotals{}, err
	}
	return s.convertedTotals(ctx, q)
}

// convertedTotals totals the activities of q (alias a; nil: none) as DealsTotals: grouped by
// currency and rate day in SQL, converted in Go with the forecast's rates.
func (s *Store) convertedTotals(ctx context.Context, q *gorm.DB) (DealsTotals, error) {
	var rows []rollupRow
	if q != nil {
		err := q.Select("a.currency AS currency, " + s.sql.rateDaySQL("a") + " AS day, COUNT(*) AS n," +
			" COALESCE(SUM(a.estimated_amount), 0) AS estimated, COALESCE(SUM(a.weighted_amount), 0) AS weighted").
			Group("1, 2").Scan(&rows).Error
		if err != nil {
			return DealsTotals{}, err
		}
	}
	need := needRates{}
	for _, r := range rows {
		need.add(r.Currency, r.Day)
	}
	conv, err := s.converter(ctx, need)
	if err != nil {
		return DealsTotals{}, err
	}
	out := DealsTotals{Currency: conv.Currency}
	unconverted := map[string]*CurrencyTotal{}
	for _, r := range rows {
		out.Count += r.N
		if rate, ok := conv.Rate(r.Currency, r.Day); ok {
			out.Estimated += r.Estimated * rate
			out.Weighted += r.Weighted * rate
			continue
		}
		u := unconverted[r.Currency]
		if u == nil {
			u = &CurrencyTotal{Currency: r.Currency}
			unconverted[r.Currency] = u
		}
		u.Count += r.N
		u.Estimated += r.Estimated
		u.Weighted += r.Weighted
	}
	for _, u := range unconverted {
		out.Unconverted = append(out.Unconverted, *u)
	}
	sort.Slice(out.Unconverted, func(i, j int) bool { return out.Unconverted[i].Currency < out.Unconverted[j].Currency })
	return out, nil
}

// NoRate counts the deals of the totals that had no exchange rate (not in the sums).
func (t DealsTotals) NoRate() int64 {
	var n int64
	for _, u := range t.Unconverted {
		n += u.Count
	}
	return n
}

// dealsQuery is the FROM and WHERE of the deals behind a figure (a = activity, ph = its phase,
// with customer and rep joined); nil when the figure can have none.
func (s *Store) dealsQuery(ctx context.Context, f DealsFilter, today Date) (*gorm.DB, error) {
	n, err := f.ForecastFilter.Normalised()
	if err != nil {
		return nil, err
	}
	pipelines, _, err := s.forecastScope(ctx, n)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(pipelines))
	for i, p := range pipelines {
		ids[i] = p.ID
	}
	q := s.db(ctx).Table("activities AS a").Where("a.type = ? AND a.pipeline_id IN ?", SalesOpportunity.Type, ids).
		Joins("JOIN phases ph ON ph.id = a.phase_id").
		Joins(joinCustomer).
		Joins(joinRep)
	entered := "EXISTS (SELECT 1 FROM phase_changes pc WHERE pc.activity_id = a.id AND pc.to_phase_id = ?)"
	currentPhase := true // f.PhaseID is the phase the deals are in now, not one of their past
	switch f.Kind {
	case DealsEntered, DealsEnteredWon, DealsStayed, DealsInPhase, DealsRotting:
		if f.PhaseID == nil {
			return nil, FieldError("phase", "Pipeline health's deals are those of one phase.")
		}
	}
	switch f.Kind {
	case DealsEntered:
		q, currentPhase = q.Where(entered, *f.PhaseID), false
	case DealsEnteredWon:
		q, currentPhase = q.Where(entered+" AND ph.is_terminal AND ph.is_won", *f.PhaseID), false
	case DealsStayed:
		// A stay is complete once the deal moved on: it is elsewhere now, or came back later.
		q = q.Where(entered+` AND (a.phase_id <> ? OR (SELECT COUNT(*) FROM phase_changes pc
			WHERE pc.activity_id = a.id AND pc.to_phase_id = ?) > 1)`, *f.PhaseID, *f.PhaseID, *f.PhaseID)
		currentPhase = false
	case DealsInPhase:
		q = q.Where("NOT a.is_closed")
	case DealsRotting:
		cutoff, ok, err := s.rotCutoff(ctx, f, *f.PhaseID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil // a phase that cannot rot has no rotting deals
		}
		q = q.Where("NOT a.is_closed AND a.phase_entered_at < ?", cutoff)
	case kindOpen:
		q = q.Where("NOT a.is_closed AND a.expected_order_date >= ? AND a.expected_order_date >= ? AND a.expected_order_date <= ?", today, n.From, n.To)
	case kindOverdue:
		q = q.Where("NOT a.is_closed AND a.expected_order_date < ?", today)
	case kindNoDate:
		q = q.Where("NOT a.is_closed AND a.expected_order_date IS NULL")
	case kindWon, kindLost:
		q = q.Where("a.is_closed AND ph.is_won = ? AND a.phase_entered_at >= ? AND a.phase_entered_at < ?", f.Kind == kindWon, n.From.Time, n.To.AddDate(0, 0, 1))
	default:
		return nil, FieldError("k", "Choose open, won, lost, overdue or nodate deals, or a health figure's.")
	}
	if f.Kind == kindLost {
		for _, by := range []struct{ column, value string }{{"a.lost_reason_id", f.LostReason}, {"a.lost_to_competitor_id", f.Competitor}} {
			switch by.value {
			case "":
			case DealsNone:
				q = q.Where(by.column + " IS NULL")
			default:
				id, err := uuid.Parse(by.value)
				if err != nil {
					return nil, FieldError("reason", "A lost reason or competitor is named by its id.")
				}
				q = q.Where(by.column+" = ?", id)
			}
		}
	}
	switch f.Category {
	case "":
	case ForecastCommit:
		q = q.Where("COALESCE(a.forecast_category, ph.forecast_category) = ?", ForecastCommit)
	case ForecastBestCase:
		q = q.Where("COALESCE(a.forecast_category, ph.forecast_category) IN ?", []string{ForecastCommit, ForecastBestCase})
	default:
		return nil, FieldError("category", "Unknown forecast category.")
	}
	if f.PhaseID != nil && currentPhase {
		q = q.Where("a.phase_id = ?", *f.PhaseID)
	}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		q = q.Where(c.sql, c.args...)
	}
	return q, nil
}

// rotCutoff is when a deal must have entered the phase to be rotting now, by the phase's RotRule
// as pipeline health computes it for the same pipeline and rep; ok is false if it cannot rot.
func (s *Store) rotCutoff(ctx context.Context, f DealsFilter, phaseID uuid.UUID) (time.Time, bool, error) {
	now := s.now()
	phases, _, err := s.PipelineHealth(ctx, HealthFilter{PipelineID: f.PipelineID, RepID: f.RepID}, now, 0)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, p := range phases {
		if p.ID == phaseID {
			cutoff, ok := p.Rot.Cutoff(now)
			return cutoff, ok, nil
		}
	}
	return time.Time{}, false, Errorf(ENotFound, "That phase is not in the forecast's pipelines.")
}

// LossRow is one line of the loss analysis: a lost reason or a competitor, with the deals lost
// for it in the range and their Σ EstimatedAmount in the reporting currency, each converted with
// the rate of its day as the forecast converts it; NoRate of them had none (counted, not summed).
// Key is the reason's or competitor's id, DealsNone for the deals without one
// (DealsFilter.LostReason, Competitor).
type LossRow struct {
	Key    string
	Name   string
	Count  int64
	Amount float64
	NoRate int64
}

// LossAnalysis is why and to whom deals were lost in a forecast's range (closed in a lost phase
// during it), most lost amount first; deals without a reason or competitor are a row of their
// own ("No reason given", "No competitor").
func (s *Store) LossAnalysis(ctx context.Context, f ForecastFilter) (byReason, byCompetitor []LossRow, err error) {
	n, err := f.Normalised()
	if err != nil {
		return nil, nil, err
	}
	pipelines, _, err := s.forecastScope(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]uuid.UUID, len(pipelines))
	for i, p := range pipelines {
		ids[i] = p.ID
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	// join brings in the grouping row as x, and name is the SQL of its name (a competitor's is
	// its organisation's). Grouped by currency and rate day too, to convert in Go.
	day := s.sql.rateDaySQL("a")
	group := func(join, name, none string) ([]LossRow, error) {
		q := s.db(ctx).Table("activities AS a").
			Joins("JOIN phases ph ON ph.id = a.phase_id").
			Joins(join).
			Where("a.type = ? AND a.pipeline_id IN ? AND a.is_closed AND NOT ph.is_won AND a.phase_entered_at >= ? AND a.phase_entered_at < ?",
				SalesOpportunity.Type, ids, n.From.Time, n.To.AddDate(0, 0, 1))
		if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
			q = q.Where(c.sql, c.args...)
		}
		var rows []struct {
			LossRow
			Currency string
			Day      *Date
		}
		err := q.Select("COALESCE(CAST(x.id AS text), ?) AS key, COALESCE("+name+", ?) AS name, a.currency AS currency, "+day+" AS day,"+
			" COUNT(*) AS count, COALESCE(SUM(a.estimated_amount), 0) AS amount", DealsNone, none).
			Group("x.id, " + name + ", a.currency, " + day).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		need := needRates{}
		for _, r := range rows {
			need.add(r.Currency, r.Day)
		}
		conv, err := s.converter(ctx, need)
		if err != nil {
			return nil, err
		}
		index := map[string]int{}
		var out []LossRow
		for _, r := range rows {
			i, ok := index[r.Key]
			if !ok {
				i = len(out)
				index[r.Key] = i
				out = append(out, LossRow{Key: r.Key, Name: r.Name})
			}
			out[i].Count += r.Count
			if rate, ok := conv.Rate(r.Currency, r.Day); ok {
				out[i].Amount += r.Amount * rate
			} else {
				out[i].NoRate += r.Count
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Amount != out[j].Amount {
				return out[i].Amount > out[j].Amount
			}
			return out[i].Name < out[j].Name
		})
		return out, nil
	}
	if byReason, err = group("LEFT JOIN lost_reasons x ON x.id = a.lost_reason_id", "x.name", "No reason given"); err != nil {
		return nil, nil, err
	}
	byCompetitor, err = group("LEFT JOIN competitors x ON x.id = a.lost_to_competitor_id LEFT JOIN relations xo ON xo.id = x.organization_id", "xo.name", "No competitor")
	return byReason, byCompetitor, err
}
