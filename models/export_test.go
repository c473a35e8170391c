package models

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// WithoutHooks is s without its change hooks: the writes alone, for the benchmarks that weigh
// what maintaining the aggregates adds to a write.
func WithoutHooks(s *Store) *Store {
	c := *s
	c.changeHooks = nil
	return &c
}

// WithoutFeed is s whose writes append nothing to the change feed: the benchmark that weighs
// what the feed adds to a move.
func WithoutFeed(s *Store) *Store {
	c := *s
	c.noFeed = true
	return &c
}

// ExplainSeedHistory is PostgreSQL's plan of the rebuild's first-history statement, planned as
// the rebuild plans it.
func (s *Store) ExplainSeedHistory(ctx context.Context) (string, error) {
	var plan []string
	err := s.transact(ctx, func(tx *gorm.DB) error {
		return s.sql.hashAntiJoin(tx, func() error {
			return tx.Raw("EXPLAIN "+seedHistorySQL, SalesOpportunity.Type).Scan(&plan).Error
		})
	})
	return strings.Join(plan, "\n"), err
}

// ScanningColumns is s whose board column figures always scan the cards: the reference the
// figures read off the maintained rollups are checked against.
func ScanningColumns(s *Store) *Store {
	c := *s
	c.scanColumns = true
	return &c
}
