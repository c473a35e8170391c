package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Forecast categories, an extension beside the seeds' fields: each opportunity is in one,
// by default its phase's, overridable per opportunity (Activity.ForecastCategory).
const (
	ForecastPipeline = "Pipeline"
	ForecastBestCase = "BestCase"
	ForecastCommit   = "Commit"
	ForecastClosed   = "Closed"
	ForecastOmitted  = "Omitted"
)

// ForecastCategories lists the categories from least to most certain, then the excluded one.
var ForecastCategories = []string{ForecastPipeline, ForecastBestCase, ForecastCommit, ForecastClosed, ForecastOmitted}

// ValidForecastCategory reports whether c is one of ForecastCategories.
func ValidForecastCategory(c string) bool {
	for _, x := range ForecastCategories {
		if x == c {
			return true
		}
	}
	return false
}

// DefaultForecastCategory is the category a phase gives its opportunities unless one was
// chosen for it: a won end is Closed, a lost end Omitted, and open phases go by how likely
// they are to close. Migration 2 applied the same rule to the phases that existed then.
func (p *Phase) DefaultForecastCategory() string {
	switch {
	case p.IsTerminal && p.IsWon:
		return ForecastClosed
	case p.IsTerminal:
		return ForecastOmitted
	case p.DefaultProbability >= 60:
		return ForecastCommit
	case p.DefaultProbability >= 30:
		return ForecastBestCase
	}
	return ForecastPipeline
}

// BeforeCreate gives a new phase its default forecast category when none was chosen, so that
// no code creating phases has to know the rule.
func (p *Phase) BeforeCreate(*gorm.DB) error {
	if p.ForecastCategory == "" {
		p.ForecastCategory = p.DefaultForecastCategory()
	}
	if !ValidForecastCategory(p.ForecastCategory) {
		return FieldError("ForecastCategory", "Unknown forecast category %q.", p.ForecastCategory)
	}
	return nil
}

// Period granularities of the forecast.
const (
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
)

// MaxForecastMonths caps the range (a page of 120 bars is no longer a forecast).
const MaxForecastMonths = 120

// ForecastFilter is what a forecast covers. It lives in the URL, so that a view can be shared.
type ForecastFilter struct {
	PipelineID *uuid.UUID // nil: every sales pipeline
	RepID      *uuid.UUID // nil: every rep
	By         string     // PeriodMonth (default) or PeriodQuarter
	From, To   Date       // the first and last period, by any of their days
}

// DefaultForecastFilter covers this quarter and the next three, by month.
func DefaultForecastFilter(today Date) ForecastFilter {
	start := quarterStart(today)
	return ForecastFilter{By: PeriodMonth, From: start, To: Date{start.AddDate(0, 12, -1)}}
}

// Normalised returns the filter with From and To on the first and last day of their periods,
// or an EInvalid error for an unknown granularity or a range that is reversed or too long.
func (f ForecastFilter) Normalised() (ForecastFilter, error) {
	switch f.By {
	case "":
		f.By = PeriodMonth
	case PeriodMonth, PeriodQuarter:
	default:
		return f, FieldError("by", "Group by month or by quarter.")
	}
	if f.From.IsZero() || f.To.IsZero() {
		return f, FieldError("from", "Choose the first and the last month of the forecast.")
	}
	if f.By == PeriodQuarter {
		f.From, f.To = quarterStart(f.From), Date{quarterStart(f.To).AddDate(0, 3, -1)}
	} else {
		f.From, f.To = monthStart(f.From), Date{monthStart(f.To).AddDate(0, 1, -1)}
	}
	if f.To.Before(f.From.Time) {
		return f, FieldError("to", "The last month comes before the first.")
	}
	if months := monthsBetween(f.From, f.To) + 1; months > MaxForecastMonths {
		return f, FieldError("to", "A forecast covers at most %d months.", MaxForecastMonths)
	}
	return f, nil
}

// InMonth is the same day in another month, or that month's last day when it is shorter
// (31 January to February is 28 or 29 February): how the forecast board moves a date.
func (d Date) InMonth(year int, month time.Month) Date {
	last := NewDate(year, month+1, 0).Day()
	return NewDate(year, month, min(d.Day(), last))
}

// PeriodKey names the period of a date ("2026-03", "2026-Q1"), as the forecast SQL does.
func PeriodKey(by string, d Date) string {
	if by == PeriodQuarter {
		return fmt.Sprintf("%04d-Q%d", d.Year(), (int(d.Month())-1)/3+1)
	}
	return fmt.Sprintf("%04d-%02d", d.Year(), int(d.Month()))
}

// ParseMonthKey reads a month key ("2026-03") back to its first day.
func ParseMonthKey(key string) (Date, error) {
	d, err := ParseDate(key + "-01") // within the supported range, like every date written
	if err != nil || len(key) != len("2006-01") {
		return Date{}, FieldError("month", "A month is written as YYYY-MM, from 0001-01 to 9999-12.")
	}
	return d, nil
}

func monthStart(d Date) Date   { return NewDate(d.Year(), d.Month(), 1) }
func quarterStart(d Date) Date { return NewDate(d.Year(), d.Month()-(d.Month()-1)%3, 1) }
func monthsBetween(a, b Date) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// ForecastFigures are the figures of a period or of a breakdown row. The open ones count
// opportunities still open and expected in the period (from today on: earlier is overdue);
// won and lost count those that entered a won or lost phase during the period. Amounts are
// EstimatedAmount (what the board shows and the edit panel changes), in the reporting
// currency (currency.go); NoRate counts the opportunities among them that are counted but not
// in the sums, for want of an exchange rate on their date.
type ForecastFigures struct {
	Count     int64
	Estimated float64
	Weighted  float64
	BestCase  float64 // Σ estimated of the open ones in Commit or BestCase
	Commit    float64 // Σ estimated of the open ones in Commit
	WonCount  int64
	Won       float64
	LostCount int64
	Lost      float64
	NoRate    int64
}

func (x *ForecastFigures) add(y ForecastFigures) {
	x.Count += y.Count
	x.Estimated += y.Estimated
	x.Weighted += y.Weighted
	x.BestCase += y.BestCase
	x.Commit += y.Commit
	x.WonCount += y.WonCount
	x.Won += y.Won
	x.LostCount += y.LostCount
	x.Lost += y.Lost
	x.NoRate += y.NoRate
}

// ForecastPeriod is one month or quarter.
type ForecastPeriod struct {
	Key        string // "2026-03" or "2026-Q1"
	Label      string // "Mar 2026" or "Q1 2026"
	Start, End Date
	ForecastFigures
	// PhaseWeighted is Σ WeightedAmount of the open opportunities per phase, in the order of
	// Forecast.OpenPhases (the stacks of the chart).
	PhaseWeighted []float64
	Target        *float64 // the team's (or the filter's rep's) target; nil: none (targets.go)
}

// ForecastRow is one line of a breakdown (a rep, a pipeline or a phase).
type ForecastRow struct {
	Key  string // the id, or "" for opportunities without a rep
	Name string
	ForecastFigures
	Overdue ForecastFigures
	NoDate  ForecastFigures
}

// ForecastPhase is a phase as the forecast shows it: with its pipeline's name.
type ForecastPhase struct {
	Phase
	PipelineName string
}

// Forecast is the forecast page: periods, the opportunities shown apart, and breakdowns.
type Forecast struct {
	Filter  ForecastFilter // normalised
	Today   Date
	Periods []ForecastPeriod
	Total   ForecastFigures // of the periods
	// Open opportunities that no period shows: expected before today, or without a date.
	Overdue ForecastFigures
	NoDate  ForecastFigures

	OpenPhases []ForecastPhase // the chart's stacks, by pipeline then phase order
	ByPhase    []ForecastRow   // every phase in scope, terminal ones included
	ByPipeline []ForecastRow
	ByRep      []ForecastRow // reps with figures, by name; "" is unassigned

	Currency     string        // the reporting currency of every amount
	MissingRates []MissingRate // what could not be converted (counted, not summed), by currency
	Source       ForecastSource

	// Per period and rep (rows' Key), for targets and attainment (targets.go).
	byPeriodRep map[string]map[string]*ForecastFigures
}

// Periods lists the periods of a normalised filter; a period without opportunities is still
// one, so they come from the range and not from the data.
func (f ForecastFilter) Periods() []ForecastPeriod {
	var out []ForecastPeriod
	step := 1
	if f.By == PeriodQuarter {
		step = 3
	}
	for d := f.From; !d.After(f.To.Time); d = (Date{d.AddDate(0, step, 0)}) {
		p := ForecastPeriod{Key: PeriodKey(f.By, d), Start: d, End: Date{d.AddDate(0, step, -1)}}
		if f.By == PeriodQuarter {
			p.Label = fmt.Sprintf("Q%d %d", (int(d.Month())-1)/3+1, d.Year())
		} else {
			p.Label = d.Format("Jan 2006")
		}
		out = append(out, p)
	}
	return out
}

// Forecast computes the forecast of f as of today from the maintained rollups: their rows in
// range (per phase, rep, category, currency and day; a few thousand whatever the number of
// opportunities), converted with the rates of their days, which Go adds up into the periods,
// the chart, the opportunities shown apart and the breakdowns (by phase, by pipeline through
// the phases, by rep).
func (s *Store) Forecast(ctx context.Context, f ForecastFilter, today Date) (*Forecast, error) {
	return s.ForecastFrom(ctx, SourceLive, f, today)
}

// ForecastFrom is Forecast from another source: a snapshot (as it was), or a scan of the
// activities (the same numbers without the rollups).
func (s *Store) ForecastFrom(ctx context.Context, src ForecastSource, f ForecastFilter, today Date) (*Forecast, error) {
	f, err := f.Normalised()
	if err != nil {
		return nil, err
	}
	var out *Forecast
	err = s.report(ctx, func(r *Store) error {
		out, err = r.forecast(ctx, src, f, today)
		return err
	})
	return out, err
}

// report runs the queries of a report in one read-only transaction, so that every figure comes
// from the same snapshot, prepared as the dialect wants (sqlDialect.report).
func (s *Store) report(ctx context.Context, fn func(r *Store) error) error {
	run := func(tx *gorm.DB) error {
		if err := s.sql.report(tx); err != nil {
			return err
		}
		r := *s
		r.DB, r.replicas = tx, nil // every read of r is the report's transaction
		return fn(&r)
	}
	db := s.reportDB(ctx)
	if s.sql.reportOptions == nil {
		return db.Transaction(run)
	}
	return db.Transaction(run, s.sql.reportOptions)
}

func (s *Store) forecast(ctx context.Context, src ForecastSource, f ForecastFilter, today Date) (*Forecast, error) {
	pipelines, phases, err := s.forecastScope(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &Forecast{Filter: f, Today: today, Periods: f.Periods(), Source: src, byPeriodRep: map[string]map[string]*ForecastFigures{}}
	for _, p := range phases {
		if !p.IsTerminal {
			out.OpenPhases = append(out.OpenPhases, p)
		}
	}
	periodIndex := make(map[string]int, len(out.Periods))
	for i := range out.Periods {
		periodIndex[out.Periods[i].Key] = i
		out.Periods[i].PhaseWeighted = make([]float64, len(out.OpenPhases))
	}
	stackIndex := make(map[string]int, len(out.OpenPhases))
	for i, p := range out.OpenPhases {
		stackIndex[p.ID.String()] = i
	}

	ids := make([]uuid.UUID, len(pipelines))
	for i, pl := range pipelines {
		ids[i] = pl.ID
	}
	missing := missingRates{}
	rows, err := s.forecastAggregate(ctx, src, f, today, ids, phases, missing, out)
	if err != nil {
		return nil, err
	}
	out.MissingRates = missing.list()
	byPhase := map[string]*ForecastRow{}
	for _, p := range phases {
		byPhase[p.ID.String()] = &ForecastRow{Key: p.ID.String(), Name: p.PipelineName + " · " + p.Name}
	}
	for _, r := range rows {
		row := byPhase[r.G2]
		if row == nil { // a phase outside the scope's pipelines cannot match the WHERE; be safe
			continue
		}
		row.addAgg(r)
		switch r.K {
		case kindOverdue:
			out.Overdue.add(r.figures())
		case kindNoDate:
			out.NoDate.add(r.figures())
		default:
			i, ok := periodIndex[r.G1]
			if !ok {
				continue
			}
			out.Periods[i].add(r.figures())
			out.periodRep(r.G1, r.G3).add(r.figures())
			if j, ok := stackIndex[r.G2]; ok && r.K == kindOpen {
				out.Periods[i].PhaseWeighted[j] += r.Weighted
			}
		}
	}
	for _, p := range out.Periods {
		out.Total.add(p.ForecastFigures)
	}
	byPipeline := map[uuid.UUID]*ForecastRow{}
	for _, pl := range pipelines {
		row := &ForecastRow{Key: pl.ID.String(), Name: pl.Name}
		byPipeline[pl.ID] = row
	}
	for _, p := range phases {
		r := byPhase[p.ID.String()]
		out.ByPhase = append(out.ByPhase, *r)
		if pr := byPipeline[p.PipelineID]; pr != nil {
			pr.ForecastFigures.add(r.ForecastFigures)
			pr.Overdue.add(r.Overdue)
			pr.NoDate.add(r.NoDate)
		}
	}
	for _, pl := range pipelines {
		out.ByPipeline = append(out.ByPipeline, *byPipeline[pl.ID])
	}

	if out.ByRep, err = s.forecastByRep(ctx, rows); err != nil {
		return nil, err
	}
	targets, err := s.Targets(ctx, f.From, f.To)
	if err != nil {
		return nil, err
	}
	byPeriod := targetsByPeriod(out.Periods, targets, f.RepID)
	for i := range out.Periods {
		out.Periods[i].Target = byPeriod[out.Periods[i].Key].total()
	}
	return out, nil
}

// forecastByRep adds the aggregate rows up per rep and names the reps.
func (s *Store) forecastByRep(ctx context.Context, rows []forecastAgg) ([]ForecastRow, error) {
	byRep := map[string]*ForecastRow{}
	var ids []string
	for _, r := range rows {
		row := byRep[r.G3]
		if row == nil {
			row = &ForecastRow{Key: r.G3, Name: "Unassigned"}
			byRep[r.G3] = row
			if r.G3 != "" {
				ids = append(ids, r.G3)
			}
		}
		row.addAgg(r)
	}
	if len(ids) > 0 {
		var reps []Employee
		if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.id IN ?", ids).Find(&reps).Error; err != nil {
			return nil, err
		}
		for _, e := range reps {
			if row := byRep[e.ID.String()]; row != nil {
				row.Name = e.FullName()
			}
		}
	}
	out := make([]ForecastRow, 0, len(byRep))
	for _, r := range byRep {
		out = append(out, *r)
	}
	// By name, the unassigned last; ties by id so that the order never flickers.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Key == "") != (b.Key == "") {
			return b.Key == ""
		}
		if a.Name != b.Name {
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
		return a.Key < b.Key
	})
	return out, nil
}

// forecastScope loads the sales pipelines the filter covers, with their phases in order.
func (s *Store) forecastScope(ctx context.Context, f ForecastFilter) ([]Pipeline, []ForecastPhase, error) {
	var pipelines []Pipeline
	q := s.db(ctx).Where("activity_type = ?", SalesOpportunity.Type)
	if f.PipelineID != nil {
		q = q.Where("id = ?", *f.PipelineID)
	} else {
		q = q.Where("is_active")
	}
	if err := q.Order("sort_index, name").Find(&pipelines).Error; err != nil {
		return nil, nil, err
	}
	if f.PipelineID != nil && len(pipelines) == 0 {
		return nil, nil, Errorf(ENotFound, "That pipeline does not exist.")
	}
	var out []ForecastPhase
	for _, pl := range pipelines {
		var phases []Phase
		if err := s.db(ctx).Where("pipeline_id = ?", pl.ID).Order("sort_index, name").Find(&phases).Error; err != nil {
			return nil, nil, err
		}
		for _, p := range phases {
			out = append(out, ForecastPhase{Phase: p, PipelineName: pl.Name})
		}
	}
	return pipelines, out, nil
}

// The kinds of an opportunity in a forecast (the k column of forecastAggregate).
const (
	kindOpen    = "open"    // open, expected in a period of the range, from today on
	kindOverdue = "overdue" // open, expected before today
	kindNoDate  = "nodate"  // open, without an expected order date
	kindWon     = "won"     // entered a won phase during the range
	kindLost    = "lost"    // entered a lost phase during the range
)

// forecastAgg is one row of forecastAggregate: the figures of one kind in one group.
type forecastAgg struct {
	G1, G2, G3   string // period ("" for overdue and no date), phase id, rep id ("" for none)
	K            string
	N            int64
	NoRate       int64 // of N, how many have no exchange rate (not in the sums)
	Estimated    float64
	Weighted     float64
	CommitAmount float64
	BestCase     float64
}

func (r forecastAgg) figures() ForecastFigures {
	switch r.K {
	case kindWon:
		return ForecastFigures{WonCount: r.N, Won: r.Estimated, NoRate: r.NoRate}
	case kindLost:
		return ForecastFigures{LostCount: r.N, Lost: r.Estimated, NoRate: r.NoRate}
	}
	return ForecastFigures{Count: r.N, Estimated: r.Estimated, Weighted: r.Weighted, BestCase: r.BestCase, Commit: r.CommitAmount, NoRate: r.NoRate}
}

func (row *ForecastRow) addAgg(r forecastAgg) {
	switch r.K {
	case kindOverdue:
		row.Overdue.add(r.figures())
	case kindNoDate:
		row.NoDate.add(r.figures())
	default:
		row.ForecastFigures.add(r.figures())
	}
}

// forecastAggregate reads the source's rows of the filter (open ones expected up to the
// range's end, overdue or without a date; closed ones that closed in the range), converts
// them with the rates of their days and adds them up by period, phase, rep and kind: at most
// periods × phases × reps × kinds rows, whatever the number of opportunities. Closing time is
// when the opportunity entered its terminal phase (PhaseEnteredAt: entering a terminal phase
// is closing).
func (s *Store) forecastAggregate(ctx context.Context, src ForecastSource, f ForecastFilter, today Date, pipelines []uuid.UUID,
	phases []ForecastPhase, missing missingRates, out *Forecast) ([]forecastAgg, error) {
	rows, err := s.rows(ctx, src, rowQuery{pipelines: pipelines, owner: s.ownerCondition(ctx, f.RepID),
		openTo: f.To, closedFrom: f.From, closedTo: f.To, fold: f.By, today: today})
	if err != nil {
		return nil, err
	}
	conv, currency, err := s.convert(ctx, rows, missing)
	if err != nil {
		return nil, err
	}
	out.Currency = currency
	byID := make(map[uuid.UUID]*ForecastPhase, len(phases))
	for i := range phases {
		byID[phases[i].ID] = &phases[i]
	}
	type key struct{ g1, g2, g3, k string }
	agg := map[key]*forecastAgg{}
	var order []key
	for _, r := range conv {
		ph := byID[r.PhaseID]
		if ph == nil {
			continue
		}
		k := key{g2: r.PhaseID.String(), g3: keyOrEmpty(r.SalesRepresentativeID)}
		switch {
		case r.IsClosed && ph.IsWon:
			k.k, k.g1 = kindWon, PeriodKey(f.By, *r.Day)
		case r.IsClosed:
			k.k, k.g1 = kindLost, PeriodKey(f.By, *r.Day)
		case r.Day == nil:
			k.k = kindNoDate
		case r.Day.Before(today.Time):
			k.k = kindOverdue
		case r.Day.Before(f.From.Time): // from today on, but before the range
			continue
		default:
			k.k, k.g1 = kindOpen, PeriodKey(f.By, *r.Day)
		}
		a := agg[k]
		if a == nil {
			a = &forecastAgg{G1: k.g1, G2: k.g2, G3: k.g3, K: k.k}
			agg[k] = a
			order = append(order, k)
		}
		a.N += r.N
		if !r.ok {
			a.NoRate += r.N
		}
		a.Estimated += r.Estimated
		a.Weighted += r.Weighted
		cat := ph.ForecastCategory
		if r.ForecastCategory != nil {
			cat = *r.ForecastCategory
		}
		if cat == ForecastCommit {
			a.CommitAmount += r.Estimated
		}
		if cat == ForecastCommit || cat == ForecastBestCase {
			a.BestCase += r.Estimated
		}
	}
	res := make([]forecastAgg, len(order))
	for i, k := range order {
		res[i] = *agg[k]
	}
	return res, nil
}

func keyOrEmpty(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

// periodRep is the figures of one rep ("": unassigned) in one period.
func (fc *Forecast) periodRep(period, rep string) *ForecastFigures {
	m := fc.byPeriodRep[period]
	if m == nil {
		m = map[string]*ForecastFigures{}
		fc.byPeriodRep[period] = m
	}
	x := m[rep]
	if x == nil {
		x = &ForecastFigures{}
		m[rep] = x
	}
	return x
}

// ForecastMonth is a column of the forecast board: the open opportunities expected in a month.
type ForecastMonth struct {
	Key        string // "2026-03"
	Label      string // "Mar 2026"
	Start, End Date
	Count      int64
	Estimated  float64 // in the reporting currency
	Weighted   float64
	NoRate     int64  // counted, not summed: no exchange rate on their date
	Currency   string // the reporting currency
}

// ForecastMonths returns the months of the filter's range (by month, whatever f.By says) with
// the count, Σ EstimatedAmount and Σ WeightedAmount of their open opportunities, from the
// maintained rollups.
func (s *Store) ForecastMonths(ctx context.Context, f ForecastFilter) (out []ForecastMonth, err error) {
	f.By = PeriodMonth
	if f, err = f.Normalised(); err != nil {
		return nil, err
	}
	err = s.report(ctx, func(r *Store) error {
		out, err = r.forecastMonths(ctx, f)
		return err
	})
	return out, err
}

func (s *Store) forecastMonths(ctx context.Context, f ForecastFilter) ([]ForecastMonth, error) {
	// Every sales pipeline, as openInRange's cards: a column's totals describe its cards.
	var ids []uuid.UUID
	q := s.db(ctx).Model(&Pipeline{}).Where("activity_type = ?", SalesOpportunity.Type)
	if f.PipelineID != nil {
		q = q.Where("id = ?", *f.PipelineID)
	}
	if err := q.Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	rows, err := s.rows(ctx, SourceLive, rowQuery{pipelines: ids, owner: s.ownerCondition(ctx, f.RepID), openFrom: f.From, openTo: f.To, fold: PeriodMonth})
	if err != nil {
		return nil, err
	}
	conv, currency, err := s.convert(ctx, rows, missingRates{})
	if err != nil {
		return nil, err
	}
	var out []ForecastMonth
	index := map[string]int{}
	for _, p := range f.Periods() {
		index[p.Key] = len(out)
		out = append(out, ForecastMonth{Key: p.Key, Label: p.Label, Start: p.Start, End: p.End, Currency: currency})
	}
	for _, r := range conv {
		i, ok := index[PeriodKey(PeriodMonth, *r.Day)]
		if !ok {
			continue
		}
		m := &out[i]
		m.Count += r.N
		m.Estimated += r.Estimated
		m.Weighted += r.Weighted
		if !r.ok {
			m.NoRate += r.N
		}
	}
	return out, nil
}

// ForecastCard is a card of the forecast board: a board card with its forecast category.
type ForecastCard struct {
	Card
	ForecastCategory string // its own category, else its phase's
	CategoryIsOwn    bool   // chosen for the opportunity rather than taken from its phase
}

// ForecastCards returns up to limit open opportunities expected in a month, by expected date,
// after the card afterID (paging by position, as the board's Cards does).
func (s *Store) ForecastCards(ctx context.Context, f ForecastFilter, month Date, afterID *uuid.UUID, limit int) ([]ForecastCard, error) {
	if limit <= 0 || limit > 1000 {
		limit = CardPageSize
	}
	start := monthStart(month)
	q := s.openInRange(ctx, f, start, Date{start.AddDate(0, 1, -1)})
	if afterID != nil {
		var pos []struct {
			ExpectedOrderDate *Date
			ID                uuid.UUID
		}
		if err := s.db(ctx).Model(&Activity{}).Select("expected_order_date, id").Where("id = ?", *afterID).Limit(1).Scan(&pos).Error; err != nil {
			return nil, err
		}
		if len(pos) == 0 || pos[0].ExpectedOrderDate == nil {
			return nil, Errorf(ENotFound, "The board changed while loading; reload it.")
		}
		d := *pos[0].ExpectedOrderDate
		q = q.Where("(a.expected_order_date > ? OR (a.expected_order_date = ? AND a.id > ?))", d, d, pos[0].ID)
	}
	var cards []ForecastCard
	err := q.Select(forecastCardColumns).
		Joins("JOIN phases ph ON ph.id = a.phase_id").
		Joins(joinCustomer).
		Joins(joinRep).
		Order("a.expected_order_date, a.id").Limit(limit).Scan(&cards).Error
	return cards, err
}

// forecastCardColumns is the select list of a ForecastCard (with ph = phase, r = customer,
// e = rep joined).
const forecastCardColumns = cardColumns + `, COALESCE(a.forecast_category, ph.forecast_category) AS forecast_category,
			CASE WHEN a.forecast_category IS NULL THEN 0 ELSE 1 END AS category_is_own`

// ForecastCard returns one opportunity as the forecast board shows it.
func (s *Store) ForecastCard(ctx context.Context, id uuid.UUID) (*ForecastCard, error) {
	var cards []ForecastCard
	q := s.db(ctx).Table("activities AS a").Select(forecastCardColumns).
		Joins("JOIN phases ph ON ph.id = a.phase_id").
		Joins(joinCustomer).
		Joins(joinRep).
		Where("a.id = ? AND a.type = ?", id, SalesOpportunity.Type)
	if c := s.ownerCondition(ctx, nil); c.sql != "" {
		q = q.Where(c.sql, c.args...)
	}
	err := q.Limit(1).Scan(&cards).Error
	if err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return nil, Errorf(ENotFound, "That opportunity no longer exists.")
	}
	return &cards[0], nil
}

// openInRange is the FROM and WHERE shared by the forecast board's figures and cards, so that a
// column's totals describe exactly the cards it can show.
func (s *Store) openInRange(ctx context.Context, f ForecastFilter, from, to Date) *gorm.DB {
	q := s.db(ctx).Table("activities AS a").
		Where("a.type = ? AND NOT a.is_closed AND a.expected_order_date >= ? AND a.expected_order_date <= ?", SalesOpportunity.Type, from, to)
	if f.PipelineID != nil {
		q = q.Where("a.pipeline_id = ?", *f.PipelineID)
	}
	if c := s.ownerCondition(ctx, f.RepID); c.sql != "" {
		q = q.Where(c.sql, c.args...)
	}
	return q
}

// MoveToMonth moves an opportunity's ExpectedOrderDate to another month, keeping its day where
// the month has it (else the month's last day; an opportunity without a date gets the last
// day too). It is an UpdateActivity, refused if the opportunity changed since the mover's page
// showed it (seen; nil: since it was read here), so that a concurrent edit of the date is never
// overwritten. It also returns the old date.
func (s *Store) MoveToMonth(ctx context.Context, id uuid.UUID, month Date, seen *int, actor Actor) (*MoveResult, *Date, error) {
	opp, err := s.Activity(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if opp.Type != SalesOpportunity.Type {
		return nil, nil, Errorf(ENotFound, "That opportunity no longer exists.")
	}
	old := opp.ExpectedOrderDate
	next := NewDate(month.Year(), month.Month()+1, 0) // the month's last day
	if old != nil {
		next = old.InMonth(month.Year(), month.Month())
	}
	res, err := s.UpdateActivity(ctx, id, ActivityChanges{ExpectedOrderDate: &next, ExpectedVersion: seenOr(seen, opp.Version)}, actor)
	return res, old, err
}
