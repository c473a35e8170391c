package models

import (
	"errors"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
)

// mapDBError turns a unique-constraint violation into a conflict on field; other errors pass.
// It reads PostgreSQL's SQLSTATE and SQLite's extended result code, never the message text.
func mapDBError(err error, field string) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return &Error{Code: EConflict, Field: field, Message: "Another record already has this " + field + "."}
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) && lite.Code() == 2067 { // SQLITE_CONSTRAINT_UNIQUE
		return &Error{Code: EConflict, Field: field, Message: "Another record already has this " + field + "."}
	}
	return err
}

// isRetryable reports a PostgreSQL deadlock (40P01) or serialisation failure (40001).
func isRetryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}
