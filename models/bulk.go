package models

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// bulkInsert inserts several slices of GORM models in one transaction. On PostgreSQL it uses
// COPY, which loads large demo data sets several times faster than multi-row INSERTs; on SQLite
// it uses GORM's batched INSERTs. Columns come from GORM's schema of each model, so a new field
// needs no change here.
func (s *Store) bulkInsert(ctx context.Context, slices ...any) error {
	if !s.sql.copyRows {
		return s.db(ctx).Transaction(func(tx *gorm.DB) error {
			for _, rows := range slices {
				if reflect.ValueOf(rows).Len() == 0 {
					continue
				}
				if err := tx.CreateInBatches(rows, 500).Error; err != nil {
					return err
				}
			}
			return nil
		})
	}
	conn, err := s.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bulk insert: not a pgx connection (%T)", driverConn)
		}
		return pgx.BeginFunc(ctx, c.Conn(), func(tx pgx.Tx) error {
			for _, rows := range slices {
				if err := s.copyRows(ctx, tx, rows); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (s *Store) copyRows(ctx context.Context, tx pgx.Tx, rows any) error {
	v := reflect.ValueOf(rows)
	if v.Len() == 0 {
		return nil
	}
	stmt := &gorm.Statement{DB: s.DB}
	if err := stmt.Parse(v.Index(0).Addr().Interface()); err != nil {
		return err
	}
	var fields []*schema.Field
	var columns []string
	for _, f := range stmt.Schema.Fields {
		if f.DBName != "" && f.Creatable {
			fields = append(fields, f)
			columns = append(columns, f.DBName)
		}
	}
	source := pgx.CopyFromSlice(v.Len(), func(i int) ([]any, error) {
		row := v.Index(i)
		vals := make([]any, len(fields))
		for j, f := range fields {
			val, _ := f.ValueOf(ctx, row)
			vals[j] = val
			// uuid.UUID and Date are driver.Valuers; COPY wants their plain values.
			if valuer, ok := val.(driver.Valuer); ok && !isNilPointer(val) {
				plain, err := valuer.Value()
				if err != nil {
					return nil, err
				}
				vals[j] = plain
			}
		}
		return vals, nil
	})
	_, err := tx.CopyFrom(ctx, pgx.Identifier{stmt.Schema.Table}, columns, source)
	return err
}

func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}
