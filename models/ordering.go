package models

import (
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Cards are ordered within a column by SortIndex (ascending, ties by ID). A card dropped between
// two others gets the midpoint of their indexes; when the gap is too small to split, the column is
// renumbered in the same transaction.
const (
	sortStep   = 1024.0
	minSortGap = 1e-6
)

// place sets a.SortIndex for its (new) column, between the card afterID (above) and the card
// beforeID (below). Neighbours that are not in the column any more (a stale board) are ignored;
// without neighbours the card goes to the top.
func (s *Store) place(tx *gorm.DB, a *Activity, afterID, beforeID *uuid.UUID) error {
	for attempt := 0; attempt < 2; attempt++ {
		lo, hi, err := s.bounds(tx, a, afterID, beforeID)
		if err != nil {
			return err
		}
		switch {
		case lo == nil && hi == nil:
			a.SortIndex = sortStep
			return nil
		case lo == nil:
			a.SortIndex = *hi - sortStep
			return nil
		case hi == nil:
			a.SortIndex = *lo + sortStep
			return nil
		case *hi-*lo > minSortGap:
			a.SortIndex = *lo + (*hi-*lo)/2
			return nil
		}
		if err := s.renumber(tx, a); err != nil {
			return err
		}
	}
	return Errorf(EConflict, "Could not find a place for the card; reload the board and try again.")
}

// bounds finds the sort indexes just above and below the drop point, excluding the card itself.
func (s *Store) bounds(tx *gorm.DB, a *Activity, afterID, beforeID *uuid.UUID) (lo, hi *float64, err error) {
	column := func() *gorm.DB {
		return tx.Model(&Activity{}).Where("pipeline_id = ? AND phase_id = ? AND id <> ?", a.PipelineID, a.PhaseID, a.ID)
	}
	neighbour := func(id *uuid.UUID) (*float64, error) {
		if id == nil || *id == uuid.Nil || *id == a.ID {
			return nil, nil
		}
		var v []float64
		err := column().Where("id = ?", *id).Limit(1).Pluck("sort_index", &v).Error
		if err != nil || len(v) == 0 {
			return nil, err
		}
		return &v[0], nil
	}
	// extreme returns the nearest index strictly above or below a value (or the column's top).
	extreme := func(cond string, order string, args ...any) (*float64, error) {
		var v []float64
		q := column()
		if cond != "" {
			q = q.Where(cond, args...)
		}
		if err := q.Order(order).Limit(1).Pluck("sort_index", &v).Error; err != nil || len(v) == 0 {
			return nil, err
		}
		return &v[0], nil
	}
	if lo, err = neighbour(afterID); err != nil {
		return nil, nil, err
	}
	if lo != nil {
		hi, err = extreme("sort_index > ?", "sort_index ASC", *lo)
		return lo, hi, err
	}
	if hi, err = neighbour(beforeID); err != nil {
		return nil, nil, err
	}
	if hi != nil {
		lo, err = extreme("sort_index < ?", "sort_index DESC", *hi)
		return lo, hi, err
	}
	hi, err = extreme("", "sort_index ASC")
	return nil, hi, err
}

// renumber spaces a column's cards sortStep apart, keeping their order. The caller holds the
// column's lock (the phase row), so no other move into the column interleaves; a card can still
// be leaving it, moved by a transaction that locked the card and its new column only. The outer
// WHERE repeats the column so that PostgreSQL, which re-checks it on the row version the leaving
// move committed, skips that card instead of writing its old rank into its new column.
func (s *Store) renumber(tx *gorm.DB, a *Activity) error {
	return tx.Exec(`UPDATE activities SET sort_index = r.rn * ?
		FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY sort_index, id) AS rn FROM activities
		      WHERE pipeline_id = ? AND phase_id = ? AND id <> ?) AS r
		WHERE activities.id = r.id AND activities.pipeline_id = ? AND activities.phase_id = ?`,
		sortStep, a.PipelineID, a.PhaseID, a.ID, a.PipelineID, a.PhaseID).Error
}
