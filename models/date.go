package models

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Date is a calendar date without time or zone (the seeds' Edm.Date, e.g. ExpectedOrderDate).
// It is stored as a PostgreSQL date and as 'YYYY-MM-DD' text in SQLite, so that both sort the same.
type Date struct {
	time.Time
}

const dateLayout = "2006-01-02"

// NewDate returns the date of y-m-d.
func NewDate(y int, m time.Month, d int) Date {
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// The supported dates are 0001-01-01 to 9999-12-31, as in the OData API (web/odata): PostgreSQL
// has no year 0 and SQLite's 'YYYY-MM-DD' text sorts right only with four-digit years.
var (
	minDate = NewDate(1, time.January, 1)
	maxDate = NewDate(9999, time.December, 31)
)

// ParseDate parses YYYY-MM-DD within minDate … maxDate. Every way in (the board's forms, the
// API's body decoder) parses dates here, so none can store a date the databases disagree on.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, err
	}
	if t.Before(minDate.Time) || t.After(maxDate.Time) {
		return Date{}, fmt.Errorf("date %s is outside the supported range %s to %s", s, minDate, maxDate)
	}
	return Date{t}, nil
}

func (d Date) String() string { return d.Format(dateLayout) }

// Value stores the date as text, which PostgreSQL casts to date and SQLite keeps as is.
func (d Date) Value() (driver.Value, error) { return d.Format(dateLayout), nil }

// Scan reads a date from either driver's representation.
func (d *Date) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*d = NewDate(x.Year(), x.Month(), x.Day())
		return nil
	case string:
		return d.parseText(x)
	case []byte:
		return d.parseText(string(x))
	}
	return fmt.Errorf("models.Date: cannot scan %T", v)
}

func (d *Date) parseText(s string) error {
	if len(s) >= 10 {
		s = s[:10]
	}
	// Not ParseDate: a stored date is read as it is, even one from before the range was kept.
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return err
	}
	*d = Date{t}
	return nil
}

// DaysUntil returns the whole days from d to other (negative when other is earlier).
func (d Date) DaysUntil(other Date) int {
	return int(other.Sub(d.Time).Hours() / 24)
}

// UnmarshalText reads YYYY-MM-DD, so that decoders (the OData body decoder) can set a Date.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return FieldError("", "%q is not a date (YYYY-MM-DD).", string(b))
	}
	*d = p
	return nil
}
