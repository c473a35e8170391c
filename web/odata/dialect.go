package odata

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Dialect hides the SQL differences between the databases the service runs
// on. Its methods are unexported on purpose: the SQL compiler and the
// dialects change together, so only this package implements it. Use
// PostgreSQL or SQLite.
type Dialect interface {
	Name() string

	// placeholder returns the n-th (1-based) bind parameter, typed where the
	// database needs to know the type of a bare parameter.
	placeholder(n int, t EdmType) string
	// encode turns a Go value of EDM type t (string for Guid, time.Time for
	// Date and DateTimeOffset, float64, int64, bool, string) into the value
	// bound for the database's storage format.
	encode(t EdmType, v any) any
	// iLike matches x against a LIKE pattern (escape character '\')
	// case-insensitively.
	iLike(x, pattern string) string
	// distinct is the NULL-aware "ne": true when one side is NULL and the
	// other is not.
	distinct(l, r string) string
	datePart(part, x string, t EdmType) string
	toDate(x string) string
	indexOf(s, sub string) string
	round(x string) string
	mod(l, r string, integer bool) string
	// cast converts x to t (String, Int32, Int64 or Double).
	cast(x string, t EdmType) string
	// inputError recognises a database error caused by the request's own
	// values or shape (a number out of range, an expression too deep for
	// the database's parser) and returns the 400 to answer; nil for any
	// other error, which stays a logged 500.
	inputError(err error) *Error
	// concurrent reports whether two queries of one request may run at once
	// (on separate connections of the pool).
	concurrent() bool
}

// PostgreSQL is the dialect for PostgreSQL (ids uuid, dates date, timestamps
// timestamptz, numbers double precision).
var PostgreSQL Dialect = postgres{}

// SQLite is the dialect for SQLite as Phaseboard stores data there: GUIDs as
// lowercase text, dates as 'YYYY-MM-DD', timestamps as UTC text in Go's
// "2006-01-02 15:04:05.999999999-07:00" layout, booleans as 0/1.
var SQLite Dialect = sqlite{}

// sqliteTimeLayout is how timestamps are stored in SQLite. Bound values use
// the same layout in UTC so that text comparison orders them correctly.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

type postgres struct{}

func (postgres) Name() string { return "postgres" }

var pgTypes = map[EdmType]string{
	EdmGuid: "uuid", EdmString: "text", EdmDouble: "double precision", EdmInt32: "integer",
	EdmInt64: "bigint", EdmBoolean: "boolean", EdmDate: "date", EdmDateTimeOffset: "timestamptz",
}

func (postgres) placeholder(n int, t EdmType) string {
	return "CAST($" + strconv.Itoa(n) + " AS " + pgTypes[t] + ")"
}

func (postgres) encode(t EdmType, v any) any {
	switch t {
	case EdmGuid:
		if s, ok := v.(string); ok {
			if u, err := uuid.Parse(s); err == nil {
				return u.String()
			}
		}
	case EdmDate:
		if tm, ok := v.(time.Time); ok {
			return tm.Format(time.DateOnly)
		}
	case EdmDateTimeOffset:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC()
		}
	}
	return v
}

func (postgres) iLike(x, pattern string) string { return x + " ILIKE " + pattern + ` ESCAPE '\'` }
func (postgres) distinct(l, r string) string    { return l + " IS DISTINCT FROM " + r }

func (postgres) datePart(part, x string, t EdmType) string {
	if t == EdmDateTimeOffset {
		x = "(" + x + ") AT TIME ZONE 'UTC'" // parts are taken in UTC, as SQLite does
	}
	e := "EXTRACT(" + strings.ToUpper(part) + " FROM " + x + ")"
	if part == "second" {
		e = "FLOOR(" + e + ")"
	}
	return "CAST(" + e + " AS integer)"
}

func (postgres) toDate(x string) string       { return "CAST((" + x + ") AT TIME ZONE 'UTC' AS date)" }
func (postgres) indexOf(s, sub string) string { return "(strpos(" + s + ", " + sub + ") - 1)" }

// PostgreSQL's round(double precision) rounds half to even; OData (and
// SQLite) round half away from zero, which numeric's round does.
func (postgres) round(x string) string {
	return "CAST(round(CAST(" + x + " AS numeric)) AS double precision)"
}

func (postgres) cast(x string, t EdmType) string { return "CAST(" + x + " AS " + pgTypes[t] + ")" }

func (postgres) mod(l, r string, integer bool) string {
	if integer {
		return "mod(" + l + ", NULLIF(" + r + ", 0))"
	}
	return "CAST(mod(CAST(" + l + " AS numeric), CAST(NULLIF(" + r + ", 0) AS numeric)) AS double precision)"
}

// PostgreSQL names its errors by SQLSTATE (pgconn.PgError implements this).
type sqlStater interface{ SQLState() string }

// inputError: class 22 (data exception: numeric value out of range, invalid
// datetime, ...) comes from the values a request binds; class 54 (program
// limit exceeded: statement too complex) from its shape.
func (postgres) inputError(err error) *Error {
	var e sqlStater
	if !errors.As(err, &e) {
		return nil
	}
	switch state := e.SQLState(); {
	case state == "22003" || state == "22008":
		return badRequest("", "a value in the query is out of range for the database (SQLSTATE %s): use smaller numbers or dates within %s", state, dateRangeText)
	case strings.HasPrefix(state, "22"):
		return badRequest("", "the database cannot evaluate the query with these values (SQLSTATE %s)", state)
	case strings.HasPrefix(state, "54"):
		return badRequest("", "the query is too complex for the database (SQLSTATE %s): simplify or split it", state)
	}
	return nil
}

func (postgres) concurrent() bool { return true }

type sqlite struct{}

func (sqlite) concurrent() bool { return false }

// sqliteCoder is the driver's error (glebarez/go-sqlite's *sqlite.Error).
type sqliteCoder interface{ Code() int }

// inputError: SQLite's parser has a small fixed stack (a right-nested
// expression of 7 to 30 levels, depending on the operators, overflows it)
// and a bounded expression depth. It reports both as the generic
// SQLITE_ERROR, so here alone the message tells them apart.
func (sqlite) inputError(err error) *Error {
	var e sqliteCoder
	if !errors.As(err, &e) {
		return nil
	}
	msg := err.Error()
	switch {
	case e.Code() == 18: // SQLITE_TOOBIG
		return badRequest("", "a value in the query is too big for the database")
	case e.Code()&0xff == 1 && (strings.Contains(msg, "parser stack overflow") || strings.Contains(msg, "Expression tree is too large")):
		return badRequest("", "the query is nested too deeply for the database: simplify or split it")
	}
	return nil
}

func (sqlite) Name() string { return "sqlite" }

// Numbered parameters (?NNN) let the compiler bind in any order.
func (sqlite) placeholder(n int, _ EdmType) string { return "?" + strconv.Itoa(n) }

func (sqlite) encode(t EdmType, v any) any {
	switch t {
	case EdmGuid:
		if s, ok := v.(string); ok {
			return strings.ToLower(s)
		}
	case EdmDate:
		if tm, ok := v.(time.Time); ok {
			return tm.Format(time.DateOnly)
		}
	case EdmDateTimeOffset:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC().Format(sqliteTimeLayout)
		}
	}
	return v
}

// SQLite's LIKE is case-insensitive for ASCII letters.
func (sqlite) iLike(x, pattern string) string { return x + " LIKE " + pattern + ` ESCAPE '\'` }
func (sqlite) distinct(l, r string) string    { return l + " IS NOT " + r }

var sqliteParts = map[string]string{"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}

func (sqlite) datePart(part, x string, _ EdmType) string {
	return "CAST(strftime('" + sqliteParts[part] + "', " + x + ") AS INTEGER)"
}

func (sqlite) toDate(x string) string       { return "date(" + x + ")" }
func (sqlite) indexOf(s, sub string) string { return "(instr(" + s + ", " + sub + ") - 1)" }
func (sqlite) round(x string) string        { return "round(" + x + ")" }

var sqliteTypes = map[EdmType]string{EdmString: "TEXT", EdmInt32: "INTEGER", EdmInt64: "INTEGER", EdmDouble: "REAL"}

func (sqlite) cast(x string, t EdmType) string { return "CAST(" + x + " AS " + sqliteTypes[t] + ")" }

// modernc's SQLite is built with the math functions (floor, ceiling, mod).
func (sqlite) mod(l, r string, integer bool) string {
	if integer {
		return "(" + l + " % NULLIF(" + r + ", 0))"
	}
	return "mod(" + l + ", NULLIF(" + r + ", 0))"
}
