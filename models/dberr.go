package models

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

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

// isUnavailable reports an error that says the database cannot be reached rather than that
// the statement was wrong: a refused or broken connection, or a server that is shutting down,
// starting up or out of connections. Read from error types and SQLSTATE codes, never from text,
// except PostgreSQL's connection-exception class 08 which is a prefix of the code.
func isUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "57P01", "57P02", "57P03", "53300": // admin/crash shutdown, cannot connect now, too many connections
			return true
		}
		return strings.HasPrefix(pg.Code, "08")
	}
	var connect *pgconn.ConnectError
	var op *net.OpError
	return errors.As(err, &connect) || errors.As(err, &op) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
