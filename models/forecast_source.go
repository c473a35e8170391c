package models

import (
	"context"
	"strings"

	"github.com/google/uuid"
)

// Where the forecast's figures come from. Every source yields rows shaped like
// forecast_rollups (per phase, owner, own category, currency, closed or not, rate day), so that
// one piece of Go turns rows into figures, converting each row with the rate of its day:
//
//   - SourceLive: the maintained forecast_rollups (the forecast page, the forecast board).
//   - SourceSnapshot: a snapshot's copy of them (the forecast as it was).
//   - SourceScan: a GROUP BY over the activities themselves: the same numbers without the
//     rollups, which the benchmarks measure beside them and the tests compare them with.
type ForecastSource struct {
	kind     int
	snapshot uuid.UUID
}

const (
	sourceLive = iota
	sourceSnapshot
	sourceScan
)

var (
	SourceLive = ForecastSource{kind: sourceLive}
	SourceScan = ForecastSource{kind: sourceScan}
)

// SourceSnapshot reads the forecast as snapshot id kept it.
func SourceSnapshot(id uuid.UUID) ForecastSource {
	return ForecastSource{kind: sourceSnapshot, snapshot: id}
}

// Snapshot is the snapshot the source reads, if it reads one.
func (src ForecastSource) Snapshot() (uuid.UUID, bool) {
	return src.snapshot, src.kind == sourceSnapshot
}

// rollupRow is one row of a source, as read (rows reads no Amount: the forecast shows none).
type rollupRow struct {
	PhaseID               uuid.UUID
	SalesRepresentativeID *uuid.UUID
	ForecastCategory      *string
	Currency              string
	IsClosed              bool
	Day                   *Date
	N                     int64
	Amount                float64
	Estimated             float64
	Weighted              float64
	Base                  string // the reporting currency, where a query reads it along
}

// rowQuery is what rows to read: the pipelines, an owner condition over a.sales_representative_id,
// open ones with a rate day up to openTo (or none), closed ones with a rate day in
// [closedFrom, closedTo]. A zero openTo reads no open rows, a zero closedFrom no closed ones.
type rowQuery struct {
	pipelines            []uuid.UUID
	owner                condition
	openTo               Date
	openFrom             Date // zero: from any day, and without a date too
	closedFrom, closedTo Date
	// fold, when set (PeriodMonth or PeriodQuarter), folds the rows already in the reporting
	// currency into one per period: their rate is 1 whatever their day, so only the period
	// matters (and, with today set, whether an open one is overdue: before today). Rows in
	// other currencies keep their day, for their rate. A million opportunities are then a few
	// hundred rows instead of some ten thousand.
	fold  string
	today Date
}

// rows reads a source's rows for q, summed per key (the scan groups the activities; the
// rollups are one row per key already, but a key may recur across pipelines in a snapshot).
func (s *Store) rows(ctx context.Context, src ForecastSource, q rowQuery) ([]rollupRow, error) {
	if len(q.pipelines) == 0 {
		return nil, nil
	}
	var (
		from  string
		args  []any
		conds []string
		cargs []any
	)
	day := "a.day"
	switch src.kind {
	case sourceLive:
		from = "forecast_rollups AS a"
	case sourceSnapshot:
		from = "forecast_snapshot_rows AS a"
		conds = append(conds, "a.snapshot_id = ?")
		cargs = append(cargs, src.snapshot)
	case sourceScan:
		// Conditions on the activities' own columns, so that the scan may use their indexes.
		day = s.sql.rateDaySQL("a")
		from = `(SELECT a.pipeline_id, a.phase_id, a.sales_representative_id, a.forecast_category, a.currency, a.is_closed,
				` + day + ` AS day, 1 AS n, a.amount, COALESCE(a.estimated_amount, 0) AS estimated_amount,
				COALESCE(a.weighted_amount, 0) AS weighted_amount
			FROM activities a WHERE a.type = ? AND (` + s.rangeSQL(q, "a.expected_order_date", "a.phase_entered_at", &args) + `)) AS a`
		args = append([]any{SalesOpportunity.Type}, args...)
	}
	if src.kind != sourceScan {
		var rargs []any
		conds = append(conds, "("+s.rangeSQL(q, "a.day", "a.day", &rargs)+")")
		cargs = append(cargs, rargs...)
	}
	dayCol, dayArgs := "a.day", []any(nil)
	if q.fold != "" {
		base, err := s.ReportingCurrency(ctx)
		if err != nil {
			return nil, err
		}
		ps := s.sql.periodStart(q.fold, "a.day")
		open := ps
		dayArgs = []any{base}
		if !q.today.IsZero() {
			open = "CASE WHEN a.day < ? THEN ? ELSE " + s.sql.greatest(ps, "?") + " END"
			dayArgs = append(dayArgs, q.today, Date{q.today.AddDate(0, 0, -1)}, q.today)
		}
		dayCol = "CASE WHEN a.currency <> ? OR a.day IS NULL THEN a.day WHEN a.is_closed THEN " + ps + " ELSE " + open + " END"
	}
	conds = append(conds, "a.pipeline_id IN ?")
	cargs = append(cargs, q.pipelines)
	if q.owner.sql != "" {
		conds = append(conds, q.owner.sql)
		cargs = append(cargs, q.owner.args...)
	}
	// The rollups and snapshots hold one row per key already; the scan groups the activities,
	// and folding groups them per period.
	// (Summed as double precision: numeric's exact sums are the maintained rows', and adding a
	// few thousand of them in floating point is exact to far below a cent, and much faster.)
	query := `SELECT a.phase_id, a.sales_representative_id, a.forecast_category, a.currency, a.is_closed, a.day, a.n,
			CAST(a.estimated_amount AS double precision), CAST(a.weighted_amount AS double precision)
		FROM ` + from + ` WHERE a.n <> 0 AND ` + strings.Join(conds, " AND ")
	if src.kind == sourceScan || q.fold != "" {
		query = `SELECT a.phase_id, a.sales_representative_id, a.forecast_category, a.currency, a.is_closed, ` + dayCol + `,
				SUM(a.n), SUM(CAST(a.estimated_amount AS double precision)), SUM(CAST(a.weighted_amount AS double precision))
			FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ") + `
			GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(a.n) <> 0`
		args = append(dayArgs, args...)
	}
	// Scanned by hand: at a million opportunities there are some ten thousand rows, and
	// reflection per field would cost more than the query.
	rows, err := s.db(ctx).Raw(query, append(args, cargs...)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rollupRow
	for rows.Next() {
		var r rollupRow
		var day *Date
		if err := rows.Scan(&r.PhaseID, &r.SalesRepresentativeID, &r.ForecastCategory, &r.Currency, &r.IsClosed, &day, &r.N,
			&r.Estimated, &r.Weighted); err != nil {
			return nil, err
		}
		r.Day = day
		out = append(out, r)
	}
	return out, rows.Err()
}

// rangeSQL is q's day conditions: over openCol (a date) for open rows and closedCol for closed
// ones (a date, or the timestamp of closing: [from, to + 1 day)).
func (s *Store) rangeSQL(q rowQuery, openCol, closedCol string, args *[]any) string {
	var parts []string
	switch {
	case !q.openTo.IsZero() && !q.openFrom.IsZero():
		parts = append(parts, "(NOT a.is_closed AND "+openCol+" >= ? AND "+openCol+" <= ?)")
		*args = append(*args, q.openFrom, q.openTo)
	case !q.openTo.IsZero():
		parts = append(parts, "(NOT a.is_closed AND ("+openCol+" IS NULL OR "+openCol+" <= ?))")
		*args = append(*args, q.openTo)
	}
	if !q.closedFrom.IsZero() {
		if closedCol == "a.day" {
			parts = append(parts, "(a.is_closed AND a.day >= ? AND a.day <= ?)")
			*args = append(*args, q.closedFrom, q.closedTo)
		} else {
			parts = append(parts, "(a.is_closed AND "+closedCol+" >= ? AND "+closedCol+" < ?)")
			*args = append(*args, q.closedFrom.Time, q.closedTo.AddDate(0, 0, 1))
		}
	}
	if len(parts) == 0 {
		return "1 = 0"
	}
	return strings.Join(parts, " OR ")
}

// convertedRow is a row in the reporting currency; ok is false when its currency had no rate
// on its day (its sums are then zero and it counts in NoRate).
type convertedRow struct {
	rollupRow
	ok bool
}

// convert converts rows with the rates of their days, noting what could not be converted.
func (s *Store) convert(ctx context.Context, rows []rollupRow, missing missingRates) ([]convertedRow, string, error) {
	return s.convertIn(ctx, rows, missing, "")
}

// convertIn is convert when the reporting currency is known already ("": read it).
func (s *Store) convertIn(ctx context.Context, rows []rollupRow, missing missingRates, base string) ([]convertedRow, string, error) {
	need := needRates{}
	for _, r := range rows {
		need.add(r.Currency, r.Day)
	}
	conv, err := s.converterIn(ctx, need, base)
	if err != nil {
		return nil, "", err
	}
	out := make([]convertedRow, len(rows))
	for i, r := range rows {
		rate, ok := conv.Rate(r.Currency, r.Day)
		out[i] = convertedRow{rollupRow: r, ok: ok}
		if !ok {
			out[i].Amount, out[i].Estimated, out[i].Weighted = 0, 0, 0
			missing.add(r.Currency, r.Day, r.N)
			continue
		}
		out[i].Amount *= rate
		out[i].Estimated *= rate
		out[i].Weighted *= rate
	}
	return out, conv.Currency, nil
}
