package models

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// BoardFilter narrows the board. It lives in the URL so that a view can be shared.
type BoardFilter struct {
	PipelineID uuid.UUID
	RepID      *uuid.UUID
	Mine       bool   // RepID is the viewer's own employee: the URL says "mine", not an id
	Text       string // in subject or customer name
	Status     string // StatusAll (default), StatusOpen or StatusClosed
	// Close narrows by expected order date relative to today (CloseThisQuarter …): the choice,
	// not dates, is kept, so that a saved view moves with the calendar. "" is any date.
	Close string
}

// The expected-close choices of BoardFilter.Close. Overdue is the overdue mark's rule: open and
// expected before today.
const (
	CloseThisMonth   = "month"
	CloseThisQuarter = "quarter"
	CloseNextQuarter = "nextquarter"
	CloseOverdue     = "overdue"
	CloseNoDate      = "nodate"
)

// CloseChoices are the valid BoardFilter.Close values, in the filter bar's order.
var CloseChoices = []string{CloseThisMonth, CloseThisQuarter, CloseNextQuarter, CloseOverdue, CloseNoDate}

// closeCondition is the WHERE of a Close choice on activities a as of today ("" for any date).
// Ranges are half-open [from, to) over whole months and quarters of the calendar.
func closeCondition(choice string, today Date) (string, []any, error) {
	between := func(from, to Date) (string, []any, error) {
		return "a.expected_order_date >= ? AND a.expected_order_date < ?", []any{from, to}, nil
	}
	switch choice {
	case "":
		return "", nil, nil
	case CloseThisMonth:
		m := monthStart(today)
		return between(m, Date{m.AddDate(0, 1, 0)})
	case CloseThisQuarter:
		q := quarterStart(today)
		return between(q, Date{q.AddDate(0, 3, 0)})
	case CloseNextQuarter:
		q := Date{quarterStart(today).AddDate(0, 3, 0)}
		return between(q, Date{q.AddDate(0, 3, 0)})
	case CloseOverdue:
		return "NOT a.is_closed AND a.expected_order_date < ?", []any{today}, nil
	case CloseNoDate:
		return "a.expected_order_date IS NULL", nil, nil
	}
	return "", nil, FieldError("close", "Unknown expected-close filter: use month, quarter, nextquarter, overdue or nodate.")
}

const (
	StatusAll    = "all"
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// CardPageSize is how many cards a column shows before "Load more".
const CardPageSize = 50

// Column is a phase with the figures of all its (filtered) cards, computed by the database:
// for every kind the count and Σ Amount, for sales opportunities also Σ EstimatedAmount and
// Σ WeightedAmount, in the reporting currency (currency.go). NoRate of the cards are counted
// but not summed: their currency has no exchange rate on their date.
type Column struct {
	Phase     Phase
	Count     int64
	Amount    float64
	Estimated float64
	Weighted  float64
	NoRate    int64
	Currency  string // the reporting currency
}

// Card is what the board shows of an activity of any kind (the sales fields are zero for other
// kinds).
type Card struct {
	ID                    uuid.UUID
	Type                  string
	Subject               string
	Number                string
	PhaseID               uuid.UUID
	CustomerName          string
	RepName               string
	SalesRepresentativeID *uuid.UUID
	Amount                float64
	EstimatedAmount       float64
	Probability           float64
	WeightedAmount        float64
	ExpectedOrderDate     *Date
	PhaseEnteredAt        time.Time
	SortIndex             float64
	IsClosed              bool
	Version               int
	LostReasonID          *uuid.UUID // why a lost deal was lost (the board shows it)
	Currency              string     // of its amounts

	// Set by RotRules.Mark, not by the query: the rule of its phase (zero: it cannot rot) and
	// whether the card is idle in its phase longer than the rule allows.
	Rot     RotRule `gorm:"-"`
	Rotting bool    `gorm:"-"`
}

// DaysInPhase is how many whole days the card has been in its current phase.
func (c *Card) DaysInPhase(now time.Time) int {
	d := int(now.Sub(c.PhaseEnteredAt).Hours() / 24)
	if d < 0 {
		return 0
	}
	return d
}

// Pipelines lists the active pipelines of every activity kind: sales pipelines first, then the
// other kinds' in the order of Kinds, each kind's in its own order.
func (s *Store) Pipelines(ctx context.Context) ([]Pipeline, error) {
	var out []Pipeline
	if err := s.db(ctx).Where("is_active").Order("sort_index, name").Find(&out).Error; err != nil {
		return nil, err
	}
	rank := func(p Pipeline) int {
		for i, k := range Kinds {
			if k.Type == p.ActivityType {
				if k.Sales {
					return -1
				}
				return i
			}
		}
		return len(Kinds)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out, nil
}

// SalesPipelines lists the active pipelines of sales opportunities (the forecasts' scope).
func (s *Store) SalesPipelines(ctx context.Context) ([]Pipeline, error) {
	var out []Pipeline
	err := s.db(ctx).Where("activity_type = ? AND is_active", SalesOpportunity.Type).Order("sort_index, name").Find(&out).Error
	return out, err
}

// Phases lists a pipeline's active phases in order.
func (s *Store) Phases(ctx context.Context, pipelineID uuid.UUID) ([]Phase, error) {
	var out []Phase
	err := s.db(ctx).Where("pipeline_id = ? AND is_active", pipelineID).Order("sort_index, name").Find(&out).Error
	return out, err
}

// PhasesByPipeline returns the active phases of several pipelines, in order, in one query.
func (s *Store) PhasesByPipeline(ctx context.Context, pipelineIDs []uuid.UUID) (map[uuid.UUID][]Phase, error) {
	var all []Phase
	if err := s.db(ctx).Where("pipeline_id IN ? AND is_active", pipelineIDs).Order("sort_index, name").Find(&all).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID][]Phase, len(pipelineIDs))
	for _, p := range all {
		out[p.PipelineID] = append(out[p.PipelineID], p)
	}
	return out, nil
}

// Employees lists the active employees by name (for rep pickers), and those of keep, active or
// not: an edit form that lists its activity's own (deactivated) rep keeps them when it is saved,
// instead of posting an empty choice that unassigns them.
func (s *Store) Employees(ctx context.Context, keep ...uuid.UUID) ([]Employee, error) {
	var out []Employee
	err := s.db(ctx).Scopes(withPerson("employees")).Where(activeOrKept("employees", keep)).Order("trim(rp.first_name || ' ' || rp.last_name), employees.id").Find(&out).Error
	return out, err
}

// activeOrKept is the condition of a picker's list: the active rows of table, and those of keep.
func activeOrKept(table string, keep []uuid.UUID) clause.Expr {
	if len(keep) == 0 {
		return gorm.Expr(table + ".is_active")
	}
	return gorm.Expr("("+table+".is_active OR "+table+".id IN ?)", keep)
}

// Relationships lists the active customers by name (for the edit panel), and those of keep
// (as Employees).
func (s *Store) Relationships(ctx context.Context, keep ...uuid.UUID) ([]Relationship, error) {
	var out []Relationship
	err := s.db(ctx).Scopes(withOrganization("relationships")).Where(activeOrKept("relationships", keep)).Where("relationships.type <> ?", TypeIdentity).
		Order("ro.name").Find(&out).Error
	return out, err
}

// LostReasons lists the lost reasons by name.
func (s *Store) LostReasons(ctx context.Context) ([]LostReason, error) {
	var out []LostReason
	err := s.db(ctx).Where("is_active").Order("sort_index, name").Find(&out).Error
	return out, err
}

// Columns returns the pipeline's phases with count, Σ EstimatedAmount and Σ WeightedAmount of
// the filtered cards of each, in one GROUP BY. With only, the figures are summed for those
// phases alone (the others' are zero): a move's answer shows two columns, not the whole board.
func (s *Store) Columns(ctx context.Context, f BoardFilter, only ...uuid.UUID) ([]Column, error) {
	phases, err := s.Phases(ctx, f.PipelineID)
	if err != nil {
		return nil, err
	}
	// Per phase, currency and rate day, so that each group converts with the rate of its day.
	// An amount in the reporting currency converts at 1 whatever its day: its groups are one
	// per phase, not one per day (thousands of rows for a column of deals due on as many days).
	const baseSQL = "(SELECT fs.reporting_currency FROM forecast_settings fs WHERE fs.id = 1)"
	// The rows summed: the opportunities' maintained rollups (a row stands for n deals, a.day is
	// its rate day) when the filter is one they have keys for, else the filtered cards.
	src, n, rateDay := s.filtered(ctx, f), "COUNT(*)", s.sql.rateDaySQL("a")
	if len(phases) > 0 && phases[0].Type == SalesOpportunity.PhaseType && f.Text == "" && f.Close == "" && !s.scanColumns {
		src, n, rateDay = s.rolledUp(ctx, f), "SUM(a.n)", "a.day"
	}
	day := "CASE WHEN a.currency = " + baseSQL + " THEN NULL ELSE " + rateDay + " END"
	q := src.Select(`a.phase_id AS phase_id, a.currency AS currency, ` + day + ` AS day, ` + n + ` AS n,
		COALESCE(SUM(a.amount), 0) AS amount, COALESCE(SUM(a.estimated_amount), 0) AS estimated,
		COALESCE(SUM(a.weighted_amount), 0) AS weighted, ` + baseSQL + ` AS base`).
		Group("a.phase_id, a.currency, " + day).Having(n + " > 0")
	var rows []rollupRow
	if len(only) > 0 {
		q = q.Where("a.phase_id IN ?", only)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, err
	}
	base := ""
	if len(rows) > 0 {
		base = rows[0].Base
	}
	conv, currency, err := s.convertIn(ctx, rows, missingRates{}, base)
	if err != nil {
		return nil, err
	}
	byPhase := make(map[uuid.UUID]*Column, len(phases))
	cols := make([]Column, len(phases))
	for i, p := range phases {
		cols[i] = Column{Phase: p, Currency: currency}
		byPhase[p.ID] = &cols[i]
	}
	for _, r := range conv {
		c := byPhase[r.PhaseID]
		if c == nil {
			continue
		}
		c.Count += r.N
		c.Amount += r.Amount
		c.Estimated += r.Estimated
		c.Weighted += r.Weighted
		if !r.ok {
			c.NoRate += r.N
		}
	}
	return cols, nil
}

// rolledUp is the rows behind the column figures of an opportunity board: the maintained
// forecast_rollups (models/rollups.go), which every write keeps in its own transaction: the same
// groups as a scan of the filtered cards, from a few rows per phase instead of every card. It
// serves the filters the rollup has keys for (pipeline, owner, open or closed, and who may read
// whose); a text or expected-date filter scans the cards.
func (s *Store) rolledUp(ctx context.Context, f BoardFilter) *gorm.DB {
	return s.keyed(ctx, s.db(ctx).Table("forecast_rollups AS a"), f)
}

// keyed narrows q (rows a with pipeline_id, sales_representative_id and is_closed: activities or
// their rollups) to the board's pipeline, owner and status, and to what the ctx's actor may read.
func (s *Store) keyed(ctx context.Context, q *gorm.DB, f BoardFilter) *gorm.DB {
	q = q.Where("a.pipeline_id = ?", f.PipelineID)
	if cond, args := s.readScope(ctx).Where("a.sales_representative_id"); cond != "" {
		q = q.Where(cond, args...)
	}
	if f.RepID != nil {
		q = q.Where("a.sales_representative_id = ?", *f.RepID)
	}
	switch f.Status {
	case StatusOpen:
		q = q.Where("NOT a.is_closed")
	case StatusClosed:
		q = q.Where("a.is_closed")
	}
	return q
}

// Column returns one column of the board (after a move, to refresh its header).
func (s *Store) Column(ctx context.Context, f BoardFilter, phaseID uuid.UUID) (*Column, error) {
	cols, err := s.Columns(ctx, f)
	if err != nil {
		return nil, err
	}
	return FindColumn(cols, phaseID)
}

// FindColumn picks the column of a phase out of a board's columns.
func FindColumn(cols []Column, phaseID uuid.UUID) (*Column, error) {
	for i := range cols {
		if cols[i].Phase.ID == phaseID {
			return &cols[i], nil
		}
	}
	return nil, Errorf(ENotFound, "That phase is not on this board.")
}

// Cards returns up to limit cards of a column in board order, starting after the card
// afterID. Paging by the last card's current position (not an offset) means a card moved
// while "Load more" is in flight is neither duplicated nor skipped.
func (s *Store) Cards(ctx context.Context, f BoardFilter, phaseID uuid.UUID, afterID *uuid.UUID, limit int) ([]Card, error) {
	if limit <= 0 || limit > 1000 {
		limit = CardPageSize
	}
	q := s.filtered(ctx, f).Where("a.phase_id = ?", phaseID)
	if afterID != nil {
		var pos []struct {
			SortIndex float64
			ID        uuid.UUID
		}
		if err := s.db(ctx).Model(&Activity{}).Select("sort_index, id").Where("id = ?", *afterID).Limit(1).Scan(&pos).Error; err != nil {
			return nil, err
		}
		if len(pos) == 0 {
			return nil, Errorf(ENotFound, "The board changed while loading; reload it.")
		}
		q = q.Where("(a.sort_index > ? OR (a.sort_index = ? AND a.id > ?))", pos[0].SortIndex, pos[0].SortIndex, pos[0].ID)
	}
	return scanCards(q.Select(cardColumns).Joins(joinRep).Order("a.sort_index, a.id").Limit(limit))
}

// CardOn returns the card id as the board f shows it, or nil when f leaves it out (a filter it
// no longer matches): the same FROM and WHERE as the column's cards.
func (s *Store) CardOn(ctx context.Context, f BoardFilter, id uuid.UUID) (*Card, error) {
	cards, err := scanCards(s.filtered(ctx, f).Where("a.id = ?", id).Select(cardColumns).Joins(joinRep).Limit(1))
	if err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return nil, nil
	}
	return &cards[0], nil
}

// Card returns one card by id, if the ctx's actor may read it.
func (s *Store) Card(ctx context.Context, id uuid.UUID) (*Card, error) {
	q := s.db(ctx).Table("activities AS a").
		Joins(joinCustomer).
		Joins(joinRep).
		Where("a.id = ?", id)
	if cond, args := s.readScope(ctx).Where("a.sales_representative_id"); cond != "" {
		q = q.Where(cond, args...)
	}
	c, err := scanCards(q.Select(cardColumns))
	if err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, Errorf(ENotFound, "That no longer exists.")
	}
	return &c[0], nil
}

// cardColumns is the select list of a Card (with r = customer, e = rep joined).
const cardColumns = `a.id, a.type, a.subject, a.number, a.phase_id, COALESCE(ro.name, '') AS customer_name,
		COALESCE(TRIM(ep.first_name || ' ' || ep.last_name), '') AS rep_name, a.sales_representative_id, a.amount,
		COALESCE(a.estimated_amount, 0) AS estimated_amount, COALESCE(a.probability, 0) AS probability,
		COALESCE(a.weighted_amount, 0) AS weighted_amount, a.expected_order_date, a.phase_entered_at,
		a.sort_index, a.is_closed, a.version, a.lost_reason_id, a.currency`

// scanCards runs q (selecting cardColumns) and reads its rows in cardColumns' order. It reads
// the columns by position rather than through GORM's reflection: a board page reads 300 cards,
// and matching every column to a field by name was most of the time the page spent on them.
func scanCards(q *gorm.DB) ([]Card, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cards []Card
	for rows.Next() {
		var c Card
		if err := rows.Scan(&c.ID, &c.Type, &c.Subject, &c.Number, &c.PhaseID, &c.CustomerName, &c.RepName,
			&c.SalesRepresentativeID, &c.Amount, &c.EstimatedAmount, &c.Probability, &c.WeightedAmount,
			&c.ExpectedOrderDate, &c.PhaseEnteredAt, &c.SortIndex, &c.IsClosed, &c.Version, &c.LostReasonID,
			&c.Currency); err != nil {
			return nil, err
		}
		cards = append(cards, c)
	}
	return cards, rows.Err()
}

// filtered is the FROM and WHERE shared by the column figures and the cards, so that the
// header totals always describe exactly the cards the column can show, and only what the ctx's
// actor may read. A pipeline holds one kind of activity, so the pipeline picks the kind.
func (s *Store) filtered(ctx context.Context, f BoardFilter) *gorm.DB {
	q := s.keyed(ctx, s.db(ctx).Table("activities AS a").Joins(joinCustomer), f)
	if t := strings.TrimSpace(f.Text); t != "" {
		p := likePattern(t)
		q = q.Where(`(LOWER(a.subject) LIKE ? ESCAPE '\' OR LOWER(COALESCE(ro.name, '')) LIKE ? ESCAPE '\')`, p, p)
	}
	if cond, args, err := closeCondition(f.Close, s.Today()); err != nil {
		_ = q.AddError(err)
	} else if cond != "" {
		q = q.Where(cond, args...)
	}
	return q
}

// Phase loads one phase.
func (s *Store) Phase(ctx context.Context, id uuid.UUID) (*Phase, error) {
	var p Phase
	err := s.db(ctx).Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That phase does not exist.")
	}
	return &p, err
}

// Competitors lists the competitors by name.
func (s *Store) Competitors(ctx context.Context) ([]Competitor, error) {
	var out []Competitor
	err := s.db(ctx).Scopes(withOrganization("competitors")).Where("competitors.is_active").Order("ro.name").Find(&out).Error
	return out, err
}
