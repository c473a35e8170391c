package models

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Maintained aggregates. The forecast, pipeline health and the OData $apply read small tables
// that every write keeps up to date in its own transaction (the kernel's emit seam hands each
// change's Before and After), instead of scanning a million activities per request:
//
//   - forecast_rollups: opportunities counted and summed per phase, owner, own forecast
//     category, currency and rate day (expected order date when open, closing day when closed);
//     the forecast converts each row with the rate of its day, so the figures stay exact.
//   - phase_visits and phase_stats: per phase the activities that ever entered it, how many of
//     them are won now, and their completed stays (pipeline health, the board's rotting marks).
//   - open_ages: open activities per phase, owner and day they entered it (rotting counts).
//   - deal_history: each opportunity's forecast-relevant state after every change (the
//     waterfall between two dates).
//
// Each write subtracts what the activity contributed before and adds what it contributes
// after; rows are touched in one order (by table, then key) so that concurrent writes never
// deadlock on them. RebuildAggregates recomputes everything from the activities and their move
// history (after a bulk load), and CheckAggregates compares the two (tests, operations).

// withTx returns ctx carrying tx, so that Store reads made with it see the transaction's writes.
func withTx(ctx context.Context, tx *gorm.DB) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// ForecastRollup is one row of forecast_rollups (and, with a snapshot id, of a snapshot).
type ForecastRollup struct {
	PipelineID            uuid.UUID  `gorm:"type:uuid"`
	PhaseID               uuid.UUID  `gorm:"type:uuid"`
	SalesRepresentativeID *uuid.UUID `gorm:"type:uuid"`
	ForecastCategory      *string    // the opportunity's own; nil follows the phase
	Currency              string
	IsClosed              bool
	Day                   *Date // expected order date (open; nil: none) or closing day (closed)
	N                     int64
	Amount                float64
	EstimatedAmount       float64
	WeightedAmount        float64
}

func (ForecastRollup) TableName() string { return "forecast_rollups" }

// rollupOf is what an opportunity contributes to forecast_rollups.
func rollupOf(a *Activity, sign int64) ForecastRollup {
	f := float64(sign)
	return ForecastRollup{PipelineID: a.PipelineID, PhaseID: a.PhaseID, SalesRepresentativeID: a.SalesRepresentativeID,
		ForecastCategory: a.ForecastCategory, Currency: a.Currency, IsClosed: a.IsClosed, Day: a.rateDay(),
		N: sign, Amount: f * a.Amount, EstimatedAmount: f * ptrValue(a.EstimatedAmount), WeightedAmount: f * ptrValue(a.WeightedAmount)}
}

// keyPart renders an optional key column for the in-memory merge of deltas.
func keyPart[T fmt.Stringer](p *T) string {
	if p == nil {
		return "∅"
	}
	return (*p).String()
}

func strPart(p *string) string {
	if p == nil {
		return "∅"
	}
	return "'" + *p
}

func (r ForecastRollup) key() string {
	return r.PhaseID.String() + "|" + keyPart(r.SalesRepresentativeID) + "|" + strPart(r.ForecastCategory) + "|" +
		r.Currency + "|" + fmt.Sprint(r.IsClosed) + "|" + keyPart(r.Day)
}

// maintainedTable describes a maintained table for upserts that add deltas: the columns of its
// unique key (nullable ones marked), the columns that follow from the key, and the summed ones.
type maintainedTable struct {
	name     string
	keys     []string
	nullable map[string]bool
	extra    []string
	sums     []string
}

var (
	rollupTable = maintainedTable{name: "forecast_rollups",
		keys:     []string{"phase_id", "sales_representative_id", "forecast_category", "currency", "is_closed", "day"},
		nullable: map[string]bool{"sales_representative_id": true, "forecast_category": true, "day": true},
		extra:    []string{"pipeline_id"}, sums: []string{"n", "amount", "estimated_amount", "weighted_amount"}}
	statsTable = maintainedTable{name: "phase_stats", keys: []string{"phase_id", "sales_representative_id"},
		nullable: map[string]bool{"sales_representative_id": true}, sums: []string{"entered", "won", "stays", "days"}}
	agesTable = maintainedTable{name: "open_ages", keys: []string{"phase_id", "sales_representative_id", "day"},
		nullable: map[string]bool{"sales_representative_id": true}, sums: []string{"n"}}
)

// addDeltas adds rows (key values, extra values, then sums, in the table's column order) in one
// multi-row upsert.
func (s *Store) addDeltas(tx *gorm.DB, t maintainedTable, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	cols := append(append(append([]string{}, t.keys...), t.extra...), t.sums...)
	var target []string
	for _, k := range t.keys {
		target = append(target, s.sql.keyColumn(k, t.nullable[k]))
	}
	var set []string
	for _, c := range t.sums {
		set = append(set, c+" = "+t.name+"."+c+" + excluded."+c)
	}
	marks := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	values := make([]string, len(rows))
	for i, r := range rows {
		values[i] = marks
		args = append(args, r...)
	}
	sql := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.Join(values, ", ") +
		" ON CONFLICT (" + strings.Join(target, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
	return tx.Exec(sql, args...).Error
}

// maintainAggregates is the change hook that keeps every maintained table: registered by Open.
func (s *Store) maintainAggregates(tx *gorm.DB, c *Change) error {
	if c.Before == nil && c.After == nil {
		return nil // not an activity
	}
	m := &maintenance{s: s, tx: tx, c: c}
	for _, step := range []func() error{m.forecast, m.health, m.ages, m.history} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// maintenance is the work of one change.
type maintenance struct {
	s      *Store
	tx     *gorm.DB
	c      *Change
	phases map[uuid.UUID]phaseFlags
}

type phaseFlags struct {
	ID         uuid.UUID
	IsTerminal bool
	IsWon      bool
}

// won reports whether phase id is a won end, loading the change's phases once.
func (m *maintenance) won(id uuid.UUID) (bool, error) {
	if m.phases == nil {
		var ids []uuid.UUID
		for _, a := range []*Activity{m.c.Before, m.c.After} {
			if a != nil {
				ids = append(ids, a.PhaseID)
			}
		}
		var rows []phaseFlags
		if err := m.tx.Model(&Phase{}).Select("id, is_terminal, is_won").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
			return false, err
		}
		m.phases = map[uuid.UUID]phaseFlags{}
		for _, r := range rows {
			m.phases[r.ID] = r
		}
	}
	f := m.phases[id]
	return f.IsTerminal && f.IsWon, nil
}

func isSales(a *Activity) bool { return a != nil && a.Type == SalesOpportunity.Type }

// forecast keeps forecast_rollups: the opportunity's old contribution out, its new one in.
func (m *maintenance) forecast() error {
	b, a := m.c.Before, m.c.After
	if !isSales(b) && !isSales(a) {
		return nil
	}
	type delta struct {
		row                         ForecastRollup
		amount, estimated, weighted exactSum
	}
	deltas := map[string]*delta{}
	add := func(r ForecastRollup) {
		d := deltas[r.key()]
		if d == nil {
			d = &delta{row: r}
			d.row.N = 0
			deltas[r.key()] = d
		}
		d.row.N += r.N
		d.amount.add(r.Amount)
		d.estimated.add(r.EstimatedAmount)
		d.weighted.add(r.WeightedAmount)
	}
	if isSales(b) {
		add(rollupOf(b, -1))
	}
	if isSales(a) {
		add(rollupOf(a, 1))
	}
	keys := make([]string, 0, len(deltas))
	for k, d := range deltas {
		if d.row.N != 0 || !d.amount.zero() || !d.estimated.zero() || !d.weighted.zero() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pg := m.s.IsPostgres()
	rows := make([][]any, len(keys))
	for i, k := range keys {
		d := deltas[k]
		r := d.row
		rows[i] = []any{r.PhaseID, r.SalesRepresentativeID, r.ForecastCategory, r.Currency, r.IsClosed, r.Day,
			r.PipelineID, r.N, d.amount.value(pg), d.estimated.value(pg), d.weighted.value(pg)}
	}
	return m.s.addDeltas(m.tx, rollupTable, rows)
}

// exactSum adds amounts as the decimals they print as, so that taking back what was added
// leaves exactly nothing: PostgreSQL's numeric sums then never drift. (SQLite sums in floating
// point whatever it is sent.)
type exactSum struct{ r big.Rat }

func (x *exactSum) add(v float64) {
	var y big.Rat
	y.SetString(strconv.FormatFloat(v, 'f', -1, 64))
	x.r.Add(&x.r, &y)
}

func (x *exactSum) zero() bool { return x.r.Sign() == 0 }

// value is the sum as a parameter: exact decimal text for a numeric column, else a float.
func (x *exactSum) value(decimal bool) any {
	if decimal {
		return x.r.FloatString(30)
	}
	f, _ := x.r.Float64()
	return f
}

// statsDelta is a change of one phase_stats row.
type statsDelta struct {
	phase               uuid.UUID
	rep                 *uuid.UUID
	entered, won, stays int64
	days                exactSum
}

type statsDeltas map[string]*statsDelta

func (d statsDeltas) add(phase uuid.UUID, rep *uuid.UUID, entered, won, stays int64, days float64) {
	k := phase.String() + "|" + keyPart(rep)
	x := d[k]
	if x == nil {
		x = &statsDelta{phase: phase, rep: rep}
		d[k] = x
	}
	x.entered += entered
	x.won += won
	x.stays += stays
	x.days.add(days)
}

func (d statsDeltas) rows(decimal bool) [][]any {
	keys := make([]string, 0, len(d))
	for k, x := range d {
		if x.entered != 0 || x.won != 0 || x.stays != 0 || !x.days.zero() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	rows := make([][]any, len(keys))
	for i, k := range keys {
		x := d[k]
		rows[i] = []any{x.phase, x.rep, x.entered, x.won, x.stays, x.days.value(decimal)}
	}
	return rows
}

type visit struct {
	PhaseID uuid.UUID
	Stays   int64
	Days    float64
}

func (m *maintenance) visits(id uuid.UUID) ([]visit, error) {
	var out []visit
	err := m.tx.Table("phase_visits").Select("phase_id, stays, days").Where("activity_id = ?", id).Order("phase_id").Scan(&out).Error
	return out, err
}

// health keeps phase_visits and phase_stats, by the move history's rules (phaseHistory): a
// stay in a phase lasts from entering it to the activity's next move; an activity counts once
// per phase it ever entered, and as won there while it is in a won phase; all of it belongs
// to the activity's current owner.
func (m *maintenance) health() error {
	b, a := m.c.Before, m.c.After
	d := statsDeltas{}
	switch {
	case b == nil: // created
		wonA, err := m.won(a.PhaseID)
		if err != nil {
			return err
		}
		if err := m.tx.Exec(`INSERT INTO phase_visits (activity_id, phase_id, stays, days) VALUES (?, ?, 0, 0)
			ON CONFLICT (activity_id, phase_id) DO NOTHING`, a.ID, a.PhaseID).Error; err != nil {
			return err
		}
		d.add(a.PhaseID, a.SalesRepresentativeID, 1, b2i(wonA), 0, 0)
	case a == nil: // deleted: its history goes with it
		wonB, err := m.won(b.PhaseID)
		if err != nil {
			return err
		}
		vs, err := m.visits(b.ID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			d.add(v.PhaseID, b.SalesRepresentativeID, -1, -b2i(wonB), -v.Stays, -v.Days)
		}
		if err := m.tx.Exec("DELETE FROM phase_visits WHERE activity_id = ?", b.ID).Error; err != nil {
			return err
		}
	default:
		moved := a.PhaseID != b.PhaseID
		if !moved && sameID(a.SalesRepresentativeID, b.SalesRepresentativeID) {
			return nil
		}
		if moved {
			wonB, err := m.won(b.PhaseID)
			if err != nil {
				return err
			}
			wonA, err := m.won(a.PhaseID)
			if err != nil {
				return err
			}
			// One statement: the stay in the phase left ends, the phase entered is visited. A
			// phase visited before was left before, so its visit has a stay: a visit without one
			// is new (entered for the first time).
			days := a.PhaseEnteredAt.Sub(b.PhaseEnteredAt).Hours() / 24
			var visited []struct {
				PhaseID uuid.UUID
				Stays   int64
			}
			if err := m.tx.Raw(`INSERT INTO phase_visits (activity_id, phase_id, stays, days) VALUES (?, ?, 1, ?), (?, ?, 0, 0)
				ON CONFLICT (activity_id, phase_id) DO UPDATE SET stays = phase_visits.stays + excluded.stays, days = phase_visits.days + excluded.days
				RETURNING phase_id, stays`, b.ID, b.PhaseID, days, a.ID, a.PhaseID).Scan(&visited).Error; err != nil {
				return err
			}
			d.add(b.PhaseID, b.SalesRepresentativeID, 0, 0, 1, days)
			entered := false
			for _, v := range visited {
				entered = entered || v.PhaseID == a.PhaseID && v.Stays == 0
			}
			if wonA != wonB {
				vs, err := m.visits(a.ID)
				if err != nil {
					return err
				}
				for _, v := range vs {
					if !(entered && v.PhaseID == a.PhaseID) {
						d.add(v.PhaseID, b.SalesRepresentativeID, 0, b2i(wonA)-b2i(wonB), 0, 0)
					}
				}
			}
			if entered {
				d.add(a.PhaseID, b.SalesRepresentativeID, 1, b2i(wonA), 0, 0)
			}
		}
		if !sameID(a.SalesRepresentativeID, b.SalesRepresentativeID) {
			// A new owner takes the activity's whole history along.
			wonA, err := m.won(a.PhaseID)
			if err != nil {
				return err
			}
			vs, err := m.visits(a.ID)
			if err != nil {
				return err
			}
			for _, v := range vs {
				d.add(v.PhaseID, b.SalesRepresentativeID, -1, -b2i(wonA), -v.Stays, -v.Days)
				d.add(v.PhaseID, a.SalesRepresentativeID, 1, b2i(wonA), v.Stays, v.Days)
			}
		}
	}
	return m.s.addDeltas(m.tx, statsTable, d.rows(m.s.IsPostgres()))
}

// ages keeps open_ages: an open activity counts on the day it entered its phase.
func (m *maintenance) ages() error {
	type k struct {
		phase uuid.UUID
		rep   string
		day   Date
	}
	deltas := map[k]int64{}
	reps := map[string]*uuid.UUID{}
	for _, x := range []struct {
		a    *Activity
		sign int64
	}{{m.c.Before, -1}, {m.c.After, 1}} {
		if x.a == nil || x.a.IsClosed {
			continue
		}
		rep := keyPart(x.a.SalesRepresentativeID)
		reps[rep] = x.a.SalesRepresentativeID
		deltas[k{x.a.PhaseID, rep, utcDay(x.a.PhaseEnteredAt)}] += x.sign
	}
	var keys []k
	for key, n := range deltas {
		if n != 0 {
			keys = append(keys, key)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.phase != b.phase {
			return a.phase.String() < b.phase.String()
		}
		if a.rep != b.rep {
			return a.rep < b.rep
		}
		return a.day.Before(b.day.Time)
	})
	rows := make([][]any, len(keys))
	for i, key := range keys {
		rows[i] = []any{key.phase, reps[key.rep], key.day, deltas[key]}
	}
	return m.s.addDeltas(m.tx, agesTable, rows)
}

// DealState is an opportunity's forecast-relevant state after a change (deal_history).
type DealState struct {
	Seq                   int64 `gorm:"primaryKey"`
	ActivityID            uuid.UUID
	At                    time.Time
	Op                    string
	ChangedBy             *uuid.UUID
	PipelineID            uuid.UUID
	PhaseID               uuid.UUID
	SalesRepresentativeID *uuid.UUID
	Currency              string
	EstimatedAmount       float64
	WeightedAmount        float64
	Probability           float64
	ExpectedOrderDate     *Date
	ForecastCategory      *string
	IsClosed              bool
	IsWon                 bool
}

func (DealState) TableName() string { return "deal_history" }

// dealFieldsDiffer reports whether a change touched what the forecast's history follows.
func dealFieldsDiffer(b, a *Activity) bool {
	return b.PhaseID != a.PhaseID || !sameID(b.SalesRepresentativeID, a.SalesRepresentativeID) || b.Currency != a.Currency ||
		ptrValue(b.EstimatedAmount) != ptrValue(a.EstimatedAmount) || ptrValue(b.WeightedAmount) != ptrValue(a.WeightedAmount) ||
		ptrValue(b.Probability) != ptrValue(a.Probability) || !sameDate(b.ExpectedOrderDate, a.ExpectedOrderDate) ||
		!sameString(b.ForecastCategory, a.ForecastCategory) || b.IsClosed != a.IsClosed
}

// history appends the opportunity's new state to deal_history when the change touched it.
func (m *maintenance) history() error {
	b, a := m.c.Before, m.c.After
	cur := a
	op := m.c.Op
	switch {
	case !isSales(b) && !isSales(a):
		return nil
	case a == nil:
		cur = b
	case b != nil && !dealFieldsDiffer(b, a):
		return nil
	}
	won, err := m.won(cur.PhaseID)
	if err != nil {
		return err
	}
	row := DealState{ActivityID: cur.ID, At: m.c.At, Op: op, ChangedBy: m.c.Actor.EmployeeID, PipelineID: cur.PipelineID,
		PhaseID: cur.PhaseID, SalesRepresentativeID: cur.SalesRepresentativeID, Currency: cur.Currency,
		EstimatedAmount: ptrValue(cur.EstimatedAmount), WeightedAmount: ptrValue(cur.WeightedAmount),
		Probability: ptrValue(cur.Probability), ExpectedOrderDate: cur.ExpectedOrderDate, ForecastCategory: cur.ForecastCategory,
		IsClosed: cur.IsClosed, IsWon: won}
	return m.tx.Omit("seq").Create(&row).Error
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func sameID(a, b *uuid.UUID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func sameDate(a, b *Date) bool    { return (a == nil) == (b == nil) && (a == nil || a.Equal(b.Time)) }
func sameString(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// ---------------------------------------------------------------- recomputation

// recomputeSQL are the queries that compute each maintained table from the activities and the
// move history, in the table's column order: the one definition behind RebuildAggregates and
// CheckAggregates.
func (s *Store) recomputeSQL() map[string]string {
	closeDay := s.sql.dayOf("a.phase_entered_at")
	days := s.sql.daysBetween("x.moved_at", "x.next_at")
	order := s.sql.moveOrder
	visits := `SELECT x.activity_id, x.phase_id, COUNT(x.next_at) AS stays, COALESCE(SUM(` + days + `), 0) AS days
		FROM (SELECT pc.activity_id, pc.to_phase_id AS phase_id, pc.moved_at,
				LEAD(pc.moved_at) OVER (PARTITION BY pc.activity_id ORDER BY ` + order + `) AS next_at
			FROM phase_changes pc) x
		GROUP BY x.activity_id, x.phase_id`
	return map[string]string{
		"forecast_rollups": `SELECT a.phase_id, a.sales_representative_id, a.forecast_category, a.currency, a.is_closed,
				CASE WHEN a.is_closed THEN ` + closeDay + ` ELSE a.expected_order_date END AS day, a.pipeline_id,
				COUNT(*) AS n, SUM(a.amount) AS amount, SUM(COALESCE(a.estimated_amount, 0)) AS estimated_amount,
				SUM(COALESCE(a.weighted_amount, 0)) AS weighted_amount
			FROM activities a WHERE a.type = '` + SalesOpportunity.Type + `'
			GROUP BY a.phase_id, a.sales_representative_id, a.forecast_category, a.currency, a.is_closed,
				CASE WHEN a.is_closed THEN ` + closeDay + ` ELSE a.expected_order_date END, a.pipeline_id`,
		"phase_visits": visits,
		"phase_stats": `SELECT v.phase_id, a.sales_representative_id, COUNT(*) AS entered,
				SUM(CASE WHEN cur.is_terminal AND cur.is_won THEN 1 ELSE 0 END) AS won, SUM(v.stays) AS stays, SUM(v.days) AS days
			FROM (` + visits + `) v JOIN activities a ON a.id = v.activity_id JOIN phases cur ON cur.id = a.phase_id
			GROUP BY v.phase_id, a.sales_representative_id`,
		"open_ages": `SELECT a.phase_id, a.sales_representative_id, ` + closeDay + ` AS day, COUNT(*) AS n
			FROM activities a WHERE NOT a.is_closed
			GROUP BY a.phase_id, a.sales_representative_id, ` + closeDay,
	}
}

// maintainedColumns are the columns of each maintained table in recomputeSQL's order.
var maintainedColumns = map[string][]string{
	"forecast_rollups": {"phase_id", "sales_representative_id", "forecast_category", "currency", "is_closed", "day", "pipeline_id", "n", "amount", "estimated_amount", "weighted_amount"},
	"phase_visits":     {"activity_id", "phase_id", "stays", "days"},
	"phase_stats":      {"phase_id", "sales_representative_id", "entered", "won", "stays", "days"},
	"open_ages":        {"phase_id", "sales_representative_id", "day", "n"},
}

var maintainedOrder = []string{"forecast_rollups", "phase_visits", "phase_stats", "open_ages"}

// RebuildAggregates recomputes every maintained table from the activities and their move
// history, and gives every opportunity without history a first deal_history row (its current
// state at its creation). Writers wait meanwhile (freezeActivities), so
// nothing changes between the recomputation and the swap. The demo loader calls it after its
// bulk insert, Migrate after migration 10.
func (s *Store) RebuildAggregates(ctx context.Context) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		if err := s.sql.freezeActivities(tx); err != nil {
			return err
		}
		// A rebuild follows a bulk load (the demo, an import) that the planner's statistics have
		// not seen yet: give it fresh ones for the recomputations below.
		for _, t := range []string{"activities", "phase_changes", "deal_history"} {
			if err := tx.Exec("ANALYZE " + t).Error; err != nil {
				return err
			}
		}
		q := s.recomputeSQL()
		for _, t := range maintainedOrder {
			if err := tx.Exec("DELETE FROM " + t).Error; err != nil {
				return err
			}
			cols := strings.Join(maintainedColumns[t], ", ")
			if err := tx.Exec("INSERT INTO " + t + " (" + cols + ") SELECT * FROM (" + q[t] + ") r").Error; err != nil {
				return fmt.Errorf("rebuild %s: %w", t, err)
			}
		}
		if err := s.sql.hashAntiJoin(tx, func() error { return tx.Exec(seedHistorySQL, SalesOpportunity.Type).Error }); err != nil {
			return err
		}
		return tx.Model(&forecastSettings{}).Where("id = 1").Update("aggregates_built", true).Error
	})
}

// seedHistorySQL gives every opportunity without history a first deal_history row, its current
// state as of its creation.
const seedHistorySQL = `INSERT INTO deal_history (activity_id, at, op, pipeline_id, phase_id, sales_representative_id, currency,
		estimated_amount, weighted_amount, probability, expected_order_date, forecast_category, is_closed, is_won)
	SELECT a.id, a.creation_date, 'created', a.pipeline_id, a.phase_id, a.sales_representative_id, a.currency,
		COALESCE(a.estimated_amount, 0), COALESCE(a.weighted_amount, 0), COALESCE(a.probability, 0), a.expected_order_date,
		a.forecast_category, a.is_closed, (ph.is_terminal AND ph.is_won)
	FROM activities a JOIN phases ph ON ph.id = a.phase_id
	WHERE a.type = ? AND NOT EXISTS (SELECT 1 FROM deal_history h WHERE h.activity_id = a.id)`

// ensureAggregates builds the maintained tables once, after the migration that adds them. An
// advisory lock keeps instances that start together from building twice.
func (s *Store) ensureAggregates(ctx context.Context) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		if _, err := s.sql.advisoryLock(tx, lockAggregates, false); err != nil {
			return err
		}
		var built []bool
		if err := tx.Model(&forecastSettings{}).Where("id = 1").Pluck("aggregates_built", &built).Error; err != nil {
			return err
		}
		if len(built) == 1 && built[0] {
			return nil
		}
		return s.RebuildAggregates(withTx(ctx, tx))
	})
}

// Advisory lock keys of the forecast (the migrations use 7266435).
const (
	lockAggregates = 7266436
	lockSnapshots  = 7266437
)

// AggregateDifference is a row where a maintained table and its recomputation disagree.
type AggregateDifference struct {
	Table      string
	Key        string
	Maintained string // the maintained row's values, "" when missing
	Recomputed string // the recomputation's, "" when missing
}

// CheckAggregates recomputes every maintained table and lists where it differs from what the
// writes maintained (sums within half a cent). A row whose counts are zero and whose sums are
// within half a cent of zero counts as absent (SQLite sums in floating point).
func (s *Store) CheckAggregates(ctx context.Context) ([]AggregateDifference, error) {
	var out []AggregateDifference
	err := s.report(ctx, func(r *Store) error {
		q := r.recomputeSQL()
		for _, t := range maintainedOrder {
			cols := maintainedColumns[t]
			nkeys := map[string]int{"forecast_rollups": 7, "phase_visits": 2, "phase_stats": 2, "open_ages": 3}[t]
			read := func(sql string) (map[string][]float64, error) {
				rows, err := r.db(ctx).Raw(sql).Rows()
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				got := map[string][]float64{}
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						return nil, err
					}
					var key []string
					for i := 0; i < nkeys; i++ {
						key = append(key, canonical(vals[i]))
					}
					nums := make([]float64, 0, len(cols)-nkeys)
					for _, v := range vals[nkeys:] {
						nums = append(nums, toFloat(v))
					}
					zero := closeEnough(nums, make([]float64, len(nums)))
					if zero {
						continue
					}
					k := strings.Join(key, "|")
					if prev, ok := got[k]; ok { // keys that canonicalise alike (0/false): add up
						for i := range prev {
							prev[i] += nums[i]
						}
						continue
					}
					got[k] = nums
				}
				return got, rows.Err()
			}
			maintained, err := read("SELECT " + strings.Join(cols, ", ") + " FROM " + t)
			if err != nil {
				return err
			}
			recomputed, err := read(q[t])
			if err != nil {
				return err
			}
			for k, m := range maintained {
				c, ok := recomputed[k]
				if !ok || !closeEnough(m, c) {
					out = append(out, AggregateDifference{Table: t, Key: k, Maintained: fmt.Sprint(m), Recomputed: fmtOpt(c, ok)})
				}
			}
			for k, c := range recomputed {
				if _, ok := maintained[k]; !ok {
					out = append(out, AggregateDifference{Table: t, Key: k, Recomputed: fmt.Sprint(c)})
				}
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Table+out[i].Key < out[j].Table+out[j].Key })
	return out, err
}

func fmtOpt(v []float64, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

func closeEnough(a, b []float64) bool {
	for i := range a {
		d := a[i] - b[i]
		if d < -0.005 || d > 0.005 {
			return false
		}
	}
	return true
}

// canonical renders a scanned key value alike on both databases (SQLite returns text and
// integers, PostgreSQL typed values).
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "∅"
	case []byte:
		return canonicalText(string(x))
	case string:
		return canonicalText(x)
	case time.Time:
		return x.UTC().Format(dateLayout)
	case bool:
		return fmt.Sprint(b2i(x))
	case [16]byte:
		return uuid.UUID(x).String()
	}
	return fmt.Sprint(v)
}

func canonicalText(s string) string {
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		if _, err := ParseDate(s[:10]); err == nil && (len(s) == 10 || s[10] == ' ' || s[10] == 'T') {
			return s[:10]
		}
	}
	return s
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case bool:
		return float64(b2i(x))
	case []byte:
		var f float64
		fmt.Sscan(string(x), &f)
		return f
	case string:
		var f float64
		fmt.Sscan(x, &f)
		return f
	}
	return 0
}
