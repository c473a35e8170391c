package models

import (
	"context"

	"github.com/google/uuid"
)

// IDByImportID finds the record of model's table (e.g. &Activity{}, &Relationship{}) of type typ
// ("" for any: tables that hold one type) whose ImportId is importID; ok is false when there is
// none. ImportIds are unique per type (activities: per kind), by a unique partial index: the API
// updates the record found instead of creating a second one, and a create that loses a race to
// the same ImportId fails with an EConflict on "ImportId", after which the caller looks it up
// again.
func (s *Store) IDByImportID(ctx context.Context, model any, typ, importID string) (id uuid.UUID, ok bool, err error) {
	var ids []uuid.UUID
	q := s.db(ctx).Model(model).Where("import_id = ?", importID)
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	if err := q.Limit(1).Pluck("id", &ids).Error; err != nil {
		return uuid.Nil, false, err
	}
	if len(ids) == 0 {
		return uuid.Nil, false, nil
	}
	return ids[0], true, nil
}

// Exists reports whether model's table has a record of type typ ("" for any) with id.
func (s *Store) Exists(ctx context.Context, model any, typ string, id uuid.UUID) (bool, error) {
	var n int64
	q := s.db(ctx).Model(model).Where("id = ?", id)
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	err := q.Count(&n).Error
	return n > 0, err
}
