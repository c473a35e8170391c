package models

import (
	"context"

	"github.com/google/uuid"
)

// IDByImportID finds the record of model's table (e.g. &Activity{}, &Relationship{}) whose
// ImportId is importID; ok is false when there is none. Together with the unique partial index
// on import_id it makes imports idempotent: the API updates the record found instead of
// creating a second one, and a create that loses a race to the same ImportId fails with an
// EConflict on "ImportId", after which the caller looks it up again.
func (s *Store) IDByImportID(ctx context.Context, model any, importID string) (id uuid.UUID, ok bool, err error) {
	var ids []uuid.UUID
	q := s.DB.WithContext(ctx).Model(model).Where("import_id = ?", importID)
	if _, isActivity := model.(*Activity); isActivity {
		q = q.Where("type = ?", TypeSalesOpportunity)
	}
	if err := q.Limit(1).Pluck("id", &ids).Error; err != nil {
		return uuid.Nil, false, err
	}
	if len(ids) == 0 {
		return uuid.Nil, false, nil
	}
	return ids[0], true, nil
}

// Exists reports whether model's table has a record with id.
func (s *Store) Exists(ctx context.Context, model any, id uuid.UUID) (bool, error) {
	var n int64
	q := s.DB.WithContext(ctx).Model(model).Where("id = ?", id)
	if _, isActivity := model.(*Activity); isActivity {
		q = q.Where("type = ?", TypeSalesOpportunity)
	}
	err := q.Count(&n).Error
	return n > 0, err
}
