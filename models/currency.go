package models

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Currencies. An activity's amounts (Amount, EstimatedAmount, WeightedAmount) are in its own
// Currency. Every total — board column headers, the forecast, its CSV, pipeline figures and,
// when a client asks, the API's aggregates — is in one reporting currency, each activity
// converted with the exchange rate of its date:
//
//   - an activity's date is its closing day when closed (the day it entered its terminal phase,
//     UTC), else its expected order date; an open one without a date takes the latest rate;
//   - the rate of a date is the last one given on or before it (rates hold until the next);
//   - an activity in the reporting currency needs no rate (1);
//   - an activity whose currency has no rate on or before its date is counted (in the counts)
//     and flagged (NoRate), never summed: no total silently adds a wrong number.
//
// Rates are per base currency, so that changing the reporting currency uses the rates given
// against the new one instead of reinterpreting the old ones.

// ExchangeRate says one unit of Currency is worth Rate units of Base from Day on.
type ExchangeRate struct {
	Base             string `gorm:"primaryKey"`
	Currency         string `gorm:"primaryKey"`
	Day              Date   `gorm:"primaryKey"`
	Rate             float64
	LastMutationDate time.Time
}

func (ExchangeRate) TableName() string { return "exchange_rates" }

// forecastSettings is the one row of installation-wide forecast settings.
type forecastSettings struct {
	ID                int
	ReportingCurrency string
	AggregatesBuilt   bool
}

func (forecastSettings) TableName() string { return "forecast_settings" }

// ReportingCurrency is the currency every total is converted into ("EUR" unless an admin chose
// another).
func (s *Store) ReportingCurrency(ctx context.Context) (string, error) {
	var cur []string
	if err := s.db(ctx).Model(&forecastSettings{}).Where("id = 1").Pluck("reporting_currency", &cur).Error; err != nil {
		return "", err
	}
	if len(cur) == 0 {
		return "EUR", nil
	}
	return cur[0], nil
}

// SetReportingCurrency changes the reporting currency (admins). Totals use the rates given
// against it from then on.
func (s *Store) SetReportingCurrency(ctx context.Context, currency string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	c, err := currencyCode("ReportingCurrency", currency)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		return tx.Model(&forecastSettings{}).Where("id = 1").Update("reporting_currency", c).Error
	})
}

// currencyCode checks and canonicalises a three-letter currency code.
func currencyCode(field, v string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(v))
	if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "", FieldError(field, "A currency is a three-letter code such as USD.")
	}
	return c, nil
}

// RateInput is one exchange rate an admin enters or imports: one Currency is worth Rate of the
// reporting currency from Day on.
type RateInput struct {
	Currency string
	Day      Date
	Rate     float64
}

func checkRate(r RateInput, base string) (RateInput, error) {
	c, err := currencyCode("Currency", r.Currency)
	if err != nil {
		return r, err
	}
	if c == base {
		return r, FieldError("Currency", "%s is the reporting currency: it needs no rate.", c)
	}
	if r.Day.IsZero() {
		return r, FieldError("Day", "A rate needs the day it applies from.")
	}
	if math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) || r.Rate <= 0 || r.Rate > 1e9 {
		return r, FieldError("Rate", "A rate is a positive number (how much one %s is worth in %s).", c, base)
	}
	r.Currency = c
	return r, nil
}

// SaveRates enters or replaces rates against the reporting currency (admins), all or none:
// one transaction, and a bad row refuses them all, naming its line (1-based) in the message.
func (s *Store) SaveRates(ctx context.Context, rates []RateInput, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		base, err := s.ReportingCurrency(withTx(ctx, tx))
		if err != nil {
			return err
		}
		now := s.now()
		rows := make([]ExchangeRate, 0, len(rates))
		for i, r := range rates {
			checked, err := checkRate(r, base)
			if err != nil {
				var de *Error
				if len(rates) > 1 && errors.As(err, &de) {
					return &Error{Code: EInvalid, Field: de.Field, Message: "Line " + strconv.Itoa(i+1) + ": " + de.Message}
				}
				return err
			}
			rows = append(rows, ExchangeRate{Base: base, Currency: checked.Currency, Day: checked.Day, Rate: checked.Rate, LastMutationDate: now})
		}
		if len(rows) == 0 {
			return FieldError("Rate", "There is no rate to save.")
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "base"}, {Name: "currency"}, {Name: "day"}},
			DoUpdates: clause.AssignmentColumns([]string{"rate", "last_mutation_date"}),
		}).CreateInBatches(rows, 500).Error
	})
}

// maxRateLines caps one CSV import.
const maxRateLines = 100_000

// ParseRatesCSV reads rates from CSV: a header naming the columns currency, date (YYYY-MM-DD)
// and rate, in any order (other named columns are ignored), then one rate per line. Decimal
// commas are refused: "1.0832", not "1,0832". Errors name the line.
func ParseRatesCSV(r io.Reader) ([]RateInput, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, FieldError("file", "The file is empty or not CSV.")
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"currency", "date", "rate"} {
		if _, ok := col[need]; !ok {
			return nil, FieldError("file", "The first line must name the columns currency, date and rate.")
		}
	}
	var out []RateInput
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, FieldError("file", "Line %d is not valid CSV.", line)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) > len(head) {
			// Most likely a decimal comma ("1,0832"), which would otherwise read as 1.
			return nil, FieldError("file", "Line %d has more values than the first line names columns (write rates with a decimal point: 1.0832).", line)
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		d, err := ParseDate(get("date"))
		if err != nil {
			return nil, FieldError("file", "Line %d: the date must be YYYY-MM-DD.", line)
		}
		rate, err := strconv.ParseFloat(get("rate"), 64)
		if err != nil {
			return nil, FieldError("file", "Line %d: the rate must be a number such as 1.0832.", line)
		}
		out = append(out, RateInput{Currency: get("currency"), Day: d, Rate: rate})
		if len(out) > maxRateLines {
			return nil, FieldError("file", "A file holds at most %d rates.", maxRateLines)
		}
	}
	return out, nil
}

// DeleteRate removes one rate (admins).
func (s *Store) DeleteRate(ctx context.Context, currency string, day Date, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		base, err := s.ReportingCurrency(withTx(ctx, tx))
		if err != nil {
			return err
		}
		res := tx.Where("base = ? AND currency = ? AND day = ?", base, strings.ToUpper(currency), day).Delete(&ExchangeRate{})
		if res.Error == nil && res.RowsAffected == 0 {
			return Errorf(ENotFound, "That rate does not exist.")
		}
		return res.Error
	})
}

// Rates lists the rates against the reporting currency, newest first, at most limit.
func (s *Store) Rates(ctx context.Context, currency string, limit int) ([]ExchangeRate, error) {
	base, err := s.ReportingCurrency(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db(ctx).Where("base = ?", base)
	if currency != "" {
		q = q.Where("currency = ?", strings.ToUpper(currency))
	}
	var out []ExchangeRate
	err = q.Order("day DESC, currency").Limit(limit).Find(&out).Error
	return out, err
}

// Converter converts amounts into the reporting currency with the rates loaded for one report
// (one read transaction): Load the currencies and days it will meet, then Rate.
type Converter struct {
	Currency string               // the reporting currency
	rates    map[string][]dayRate // by currency, by day ascending
}

type dayRate struct {
	day  Date
	rate float64
}

// latestDay stands for "no date": an open activity without an expected order date takes the
// latest rate.
var latestDay = NewDate(9999, 12, 31)

// converter loads the rates of the currencies in need (by currency, the earliest day needed)
// against the reporting currency: from the last rate on or before that day on.
func (s *Store) converter(ctx context.Context, need map[string]Date) (*Converter, error) {
	return s.converterIn(ctx, need, "")
}

// converterIn is converter when the reporting currency is known already ("": read it).
func (s *Store) converterIn(ctx context.Context, need map[string]Date, base string) (*Converter, error) {
	if base == "" {
		var err error
		if base, err = s.ReportingCurrency(ctx); err != nil {
			return nil, err
		}
	}
	c := &Converter{Currency: base, rates: map[string][]dayRate{}}
	for cur, from := range need {
		if cur == base {
			continue
		}
		var rows []ExchangeRate
		err := s.db(ctx).Where(`base = ? AND currency = ? AND day >= COALESCE(
				(SELECT MAX(r.day) FROM exchange_rates r WHERE r.base = ? AND r.currency = ? AND r.day <= ?), ?)`,
			base, cur, base, cur, from, from).Order("day").Find(&rows).Error
		if err != nil {
			return nil, err
		}
		list := make([]dayRate, len(rows))
		for i, r := range rows {
			list[i] = dayRate{r.Day, r.Rate}
		}
		c.rates[cur] = list
	}
	return c, nil
}

// Rate is the rate of currency on day (nil: no date, the latest); ok is false when there is
// none (the amount must not be summed).
func (c *Converter) Rate(currency string, day *Date) (rate float64, ok bool) {
	if currency == c.Currency {
		return 1, true
	}
	list := c.rates[currency]
	d := latestDay
	if day != nil {
		d = *day
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].day.After(d.Time) })
	if i == 0 {
		return 0, false
	}
	return list[i-1].rate, true
}

// needRates collects the currencies and earliest days a set of rows will convert.
type needRates map[string]Date

func (n needRates) add(currency string, day *Date) {
	d := latestDay
	if day != nil {
		d = *day
	}
	if cur, ok := n[currency]; !ok || d.Before(cur.Time) {
		n[currency] = d
	}
}

// MissingRate is a currency some totals could not convert: how many activities, and the days
// between which they lack a rate.
type MissingRate struct {
	Currency    string
	Count       int64
	First, Last *Date // nil: an open one without a date (no rate at all)
}

// missingRates collects the activities a report left out of its sums, by currency.
type missingRates map[string]*MissingRate

func (m missingRates) add(currency string, day *Date, n int64) {
	x := m[currency]
	if x == nil {
		x = &MissingRate{Currency: currency}
		m[currency] = x
	}
	x.Count += n
	if day != nil {
		if x.First == nil || day.Before(x.First.Time) {
			d := *day
			x.First = &d
		}
		if x.Last == nil || day.After(x.Last.Time) {
			d := *day
			x.Last = &d
		}
	}
}

func (m missingRates) list() []MissingRate {
	out := make([]MissingRate, 0, len(m))
	for _, x := range m {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// rateDaySQL is the SQL of an activity row's rate day (see the rules above) over alias a:
// NULL for an open one without a date.
func (d sqlDialect) rateDaySQL(a string) string {
	return "CASE WHEN " + a + ".is_closed THEN " + d.dayOf(a+".phase_entered_at") + " ELSE " + a + ".expected_order_date END"
}

// ReportingRateSQL is the SQL of the rate that converts an activity row (alias t) of the
// database dialect (migrations.Postgres or SQLite) into the reporting currency, NULL when there
// is none: the OData model's ReportingRate. dayExpr is the row's rate day (NULL: the latest
// rate); "" uses the activity's own.
func ReportingRateSQL(dialect, dayExpr string) string {
	d := dialects[dialect]
	if dayExpr == "" {
		dayExpr = d.rateDaySQL("t")
	}
	latest := d.lastDay
	const base = "(SELECT fs.reporting_currency FROM forecast_settings fs WHERE fs.id = 1)"
	return "CASE WHEN t.currency = " + base + " THEN 1.0 ELSE (SELECT er.rate FROM exchange_rates er WHERE er.base = " + base +
		" AND er.currency = t.currency AND er.day <= COALESCE(" + dayExpr + ", " + latest + ") ORDER BY er.day DESC LIMIT 1) END"
}

// utcDay is the UTC calendar day of a time.
func utcDay(t time.Time) Date {
	u := t.UTC()
	return NewDate(u.Year(), u.Month(), u.Day())
}

// rateDay is an activity's rate day (nil: open without a date).
func (a *Activity) rateDay() *Date {
	if a.IsClosed {
		d := utcDay(a.PhaseEnteredAt)
		return &d
	}
	return a.ExpectedOrderDate
}
