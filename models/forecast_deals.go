package models

import (
	"context"

	"github.com/google/uuid"
)

// DealsFilter names the deals behind one figure of the forecast: the forecast's filter (its
// pipeline, rep and range), one kind of figure (open, won, lost, overdue, no date), and
// optionally a phase and a forecast category (Commit; BestCase includes Commit).
type DealsFilter struct {
	ForecastFilter
	Kind     string // "open", "won", "lost", "overdue" or "nodate"
	PhaseID  *uuid.UUID
	Category string
}

// DealsPageSize caps the list behind a figure.
const DealsPageSize = 500

// ForecastDeals lists the deals a forecast figure counts, by the forecast's own rules (see
// forecastAggregate): open ones expected in the range from today on, overdue and undated open
// ones, and won and lost ones that closed in the range. At most DealsPageSize, by expected date.
func (s *Store) ForecastDeals(ctx context.Context, f DealsFilter, today Date) ([]ForecastCard, error) {
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
		Joins("LEFT JOIN relationships r ON r.id = a.relationship_id").
		Joins("LEFT JOIN employees e ON e.id = a.sales_representative_id")
	switch f.Kind {
	case kindOpen:
		q = q.Where("NOT a.is_closed AND a.expected_order_date >= ? AND a.expected_order_date >= ? AND a.expected_order_date <= ?", today, n.From, n.To)
	case kindOverdue:
		q = q.Where("NOT a.is_closed AND a.expected_order_date < ?", today)
	case kindNoDate:
		q = q.Where("NOT a.is_closed AND a.expected_order_date IS NULL")
	case kindWon, kindLost:
		q = q.Where("a.is_closed AND ph.is_won = ? AND a.phase_entered_at >= ? AND a.phase_entered_at < ?", f.Kind == kindWon, n.From.Time, n.To.AddDate(0, 0, 1))
	default:
		return nil, FieldError("k", "Choose open, won, lost, overdue or nodate deals.")
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
	if f.PhaseID != nil {
		q = q.Where("a.phase_id = ?", *f.PhaseID)
	}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		q = q.Where(c.sql, c.args...)
	}
	var cards []ForecastCard
	err = q.Select(forecastCardColumns).Order("a.expected_order_date, a.id").Limit(DealsPageSize).Scan(&cards).Error
	return cards, err
}

// LossRow is one line of the loss analysis: a lost reason or a competitor, with the deals lost
// for it in the range and their Σ EstimatedAmount.
type LossRow struct {
	Name   string
	Count  int64
	Amount float64
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
	group := func(table, column, none string) ([]LossRow, error) {
		q := s.db(ctx).Table("activities AS a").
			Joins("JOIN phases ph ON ph.id = a.phase_id").
			Joins("LEFT JOIN "+table+" x ON x.id = a."+column).
			Where("a.type = ? AND a.pipeline_id IN ? AND a.is_closed AND NOT ph.is_won AND a.phase_entered_at >= ? AND a.phase_entered_at < ?",
				SalesOpportunity.Type, ids, n.From.Time, n.To.AddDate(0, 0, 1))
		if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
			q = q.Where(c.sql, c.args...)
		}
		var rows []LossRow
		err := q.Select("COALESCE(x.name, ?) AS name, COUNT(*) AS count, COALESCE(SUM(a.estimated_amount), 0) AS amount", none).
			Group("x.name").Order("amount DESC, 1").Scan(&rows).Error
		return rows, err
	}
	if byReason, err = group("lost_reasons", "lost_reason_id", "No reason given"); err != nil {
		return nil, nil, err
	}
	byCompetitor, err = group("competitors", "lost_to_competitor_id", "No competitor")
	return byReason, byCompetitor, err
}
