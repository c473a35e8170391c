package models

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The forecast board's columns beside the months: the open opportunities expected before
// today (overdue, which no month of the range shows) and those without an expected date.
const (
	BucketOverdue = "overdue"
	BucketNoDate  = "nodate"
)

// openInBucket is the FROM and WHERE of a bucket's figures and cards (as openInRange is of a
// month's).
func (s *Store) openInBucket(ctx context.Context, f ForecastFilter, bucket string, today Date) (*gorm.DB, error) {
	q := s.db(ctx).Table("activities AS a").Where("a.type = ? AND NOT a.is_closed", SalesOpportunity.Type)
	switch bucket {
	case BucketOverdue:
		q = q.Where("a.expected_order_date < ?", today)
	case BucketNoDate:
		q = q.Where("a.expected_order_date IS NULL")
	default:
		return nil, Errorf(ENotFound, "No such column.")
	}
	if f.PipelineID != nil {
		q = q.Where("a.pipeline_id = ?", *f.PipelineID)
	}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		q = q.Where(c.sql, c.args...)
	}
	return q, nil
}

// ForecastBucket returns the count, Σ EstimatedAmount and Σ WeightedAmount of a bucket, in the
// reporting currency.
func (s *Store) ForecastBucket(ctx context.Context, f ForecastFilter, bucket string, today Date) (ForecastMonth, error) {
	out := ForecastMonth{Key: bucket, Label: map[string]string{BucketOverdue: "Overdue", BucketNoDate: "No date"}[bucket]}
	q, err := s.openInBucket(ctx, f, bucket, today)
	if err != nil {
		return out, err
	}
	// Converted into the reporting currency like the months (no sum of mixed currencies).
	t, err := s.convertedTotals(ctx, q)
	out.Count, out.Estimated, out.Weighted, out.NoRate, out.Currency = t.Count, t.Estimated, t.Weighted, t.NoRate(), t.Currency
	return out, err
}

// ForecastBucketCards returns up to limit cards of a bucket after the card afterID: overdue
// ones by expected date (the longest overdue first), the undated ones by id.
func (s *Store) ForecastBucketCards(ctx context.Context, f ForecastFilter, bucket string, today Date, afterID *uuid.UUID, limit int) ([]ForecastCard, error) {
	if limit <= 0 || limit > 1000 {
		limit = CardPageSize
	}
	q, err := s.openInBucket(ctx, f, bucket, today)
	if err != nil {
		return nil, err
	}
	order := "a.id"
	if bucket == BucketOverdue {
		order = "a.expected_order_date, a.id"
	}
	if afterID != nil {
		var pos []struct {
			ExpectedOrderDate *Date
			ID                uuid.UUID
		}
		if err := s.db(ctx).Model(&Activity{}).Select("expected_order_date, id").Where("id = ?", *afterID).Limit(1).Scan(&pos).Error; err != nil {
			return nil, err
		}
		switch {
		case len(pos) == 0:
			return nil, Errorf(ENotFound, "The board changed while loading; reload it.")
		case bucket == BucketOverdue && pos[0].ExpectedOrderDate != nil:
			d := *pos[0].ExpectedOrderDate
			q = q.Where("(a.expected_order_date > ? OR (a.expected_order_date = ? AND a.id > ?))", d, d, pos[0].ID)
		default:
			q = q.Where("a.id > ?", pos[0].ID)
		}
	}
	var cards []ForecastCard
	err = q.Select(forecastCardColumns).
		Joins("JOIN phases ph ON ph.id = a.phase_id").
		Joins(joinCustomer).
		Joins(joinRep).
		Order(order).Limit(limit).Scan(&cards).Error
	return cards, err
}

// ClearExpectedDate takes an opportunity's expected order date away (the forecast board's "No
// date" column), refused if the opportunity changed since it was read. It also returns the old
// date.
func (s *Store) ClearExpectedDate(ctx context.Context, id uuid.UUID, seen *int, actor Actor) (*MoveResult, *Date, error) {
	opp, err := s.Activity(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if opp.Type != SalesOpportunity.Type {
		return nil, nil, Errorf(ENotFound, "That opportunity no longer exists.")
	}
	res, err := s.UpdateActivity(ctx, id, ActivityChanges{ExpectedOrderDate: &Date{}, ExpectedVersion: seenOr(seen, opp.Version)}, actor)
	return res, opp.ExpectedOrderDate, err
}
