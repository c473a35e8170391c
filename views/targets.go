package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"

	"phaseboard/models"
)

// Ratio formats a fraction as a percentage with one decimal ("30.0%"); "—" for nil.
func Ratio(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*p*1000)/10, 'f', 1, 64) + "%"
}

// Times formats a coverage ("1.11×"); "—" for nil.
func Times(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64) + "×"
}

// Signed formats a difference with its sign ("+ € 9,000", "− € 2,000", "€ 0").
func Signed(v float64, currency string) string {
	switch {
	case math.Round(v) > 0:
		return "+ " + MoneyIn(v, currency)
	case math.Round(v) < 0:
		return "− " + MoneyIn(-v, currency)
	}
	return MoneyIn(0, currency)
}

func optRaw(p *float64, digits int) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', digits, 64)
}

// AttainmentTable is the targets section's table (the page and the CSV export), one row per
// rep and the team's in the foot. Under forecast fc's filter (nil: no links) the figures of
// deals link to them in the period, as the forecast's own figures do: won, attainment (won ÷
// target) and gap (target − won) to the won deals, the open figures and coverage (weighted open
// ÷ gap) to the open ones. A target and the commits are set by people, not summed from deals.
func AttainmentTable(pa *models.PeriodAttainment, currency string, fc *models.Forecast) Table {
	t := Table{ID: "attainment-table", Caption: "Targets and attainment, " + pa.Period.Label,
		Head: []string{"Rep", "Target", "Won", "Weighted open", "Commit (open)", "Best case (open)", "Attainment", "Coverage", "Gap"}}
	if pa.CanOverride {
		t.Head = append(t.Head, "Rep's commit", "Manager's commit", "Difference")
	}
	money := func(v float64) Cell {
		return Cell{Text: MoneyIn(v, currency), Raw: strconv.FormatFloat(v, 'f', 2, 64)}
	}
	row := func(a models.Attainment, total bool) TableRow {
		target := Cell{Text: "—"}
		if a.Target != nil {
			target = money(*a.Target)
		}
		coverage := Cell{Text: Times(a.Coverage), Raw: optRaw(a.Coverage, 4)}
		if a.Met {
			coverage = Cell{Text: "met", Raw: "met"}
		}
		var d deals // unassigned: no filter names them
		if fc != nil && (a.Key != "" || total) {
			d = dealsOf(fc).in(pa.Period)
			d.rep = a.Key
		}
		cells := []Cell{textCell(a.Name), target, d.link(money(a.Won), "won", ""), d.link(money(a.Weighted), "open", ""),
			d.link(money(a.Commit), "open", models.ForecastCommit), d.link(money(a.BestCase), "open", models.ForecastBestCase),
			d.link(Cell{Text: Ratio(a.Attainment), Raw: optRaw(a.Attainment, 4)}, "won", ""), d.link(coverage, "open", ""), d.link(money(a.Gap), "won", "")}
		if pa.CanOverride {
			cells = append(cells, money(a.RepCommit), money(a.ManagerCommit), Cell{Text: Signed(a.Difference, currency), Raw: strconv.FormatFloat(a.Difference, 'f', 2, 64)})
		}
		r := TableRow{Cells: cells}
		if a.NoRate > 0 {
			r.Note = fmt.Sprintf("%d without an exchange rate: counted, not summed", a.NoRate)
		}
		return r
	}
	for _, a := range pa.Reps {
		t.Rows = append(t.Rows, row(a, false))
	}
	t.Foot = []TableRow{row(pa.Total, true)}
	return t
}

// TargetsSectionView is the forecast page's targets section.
type TargetsSectionView struct {
	Attainment *models.PeriodAttainment
	Forecast   *models.Forecast        // its filter and source: the figures' links
	Periods    []models.ForecastPeriod // to pick another period
	Query      string                  // the forecast's filter as a URL query
	Currency   string
	CSRF       string
	Manage     bool // may open the targets page
}

// PeriodLink is the forecast URL showing another period's targets.
func (v TargetsSectionView) PeriodLink(key string) string {
	q, _ := url.ParseQuery(v.Query)
	q.Set("period", key)
	return "/forecast?" + q.Encode() + "#targets"
}

// TargetsPageView is the page where managers set targets per rep and for the team.
type TargetsPageView struct {
	Page
	Year     int
	By       string // models.PeriodMonth or models.PeriodQuarter
	Periods  []models.SalesPeriod
	Rows     []TargetsRow
	Currency string
	Error    string
	Notice   string
}

// TargetsRow is the team's or a rep's targets of the year.
type TargetsRow struct {
	Key   string // "team" or the employee id
	Name  string
	Cells []TargetsCell
}

// TargetsCell is one period's target: Value as typed or stored ("" none); Inside, for a
// period with targets of the other granularity within it, their sum.
type TargetsCell struct {
	Name   string // the form field: "t:<row key>:<period start>:<period end>"
	Value  string
	Inside string
	Label  string // for screen readers: "Anna de Vries, Q1 2026"
}

// TargetField names a cell's form field.
func TargetField(rowKey string, p models.SalesPeriod) string {
	return "t:" + rowKey + ":" + p.Start.String() + ":" + p.End.String()
}

// AmountValue formats a stored amount for an input ("40000", "1234.5").
func AmountValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// targetOf is a period's target for the chart's scale (0 without one).
func targetOf(p models.ForecastPeriod) float64 {
	if p.Target == nil {
		return 0
	}
	return *p.Target
}

// addTarget draws a period's target, a dashed line across its two bars (from x0 to x1), and
// the gap left to win above its won bar (at xw, bar wide), from the won amount up to the
// target, a link to the won deals (won). y maps an amount to the chart's y.
func (c *Chart) addTarget(p models.ForecastPeriod, x0, x1, xw, bar float64, y func(float64) float64, won string) {
	if p.Target == nil || *p.Target <= 0 {
		return
	}
	t := *p.Target
	c.Targets = append(c.Targets, ChartLine{X1: f1(x0 - 3), Y1: f1(y(t)), X2: f1(x1 + 3), Y2: f1(y(t))})
	if gap := t - p.Won; gap > 0 {
		c.Gaps = append(c.Gaps, ChartRect{X: f1(xw), Y: f1(y(t)), W: f1(bar), H: f1(y(p.Won) - y(t)), Fill: "url(#fc-gap)",
			Title: p.Label + " · gap to target: " + MoneyIn(gap, c.currency) + " (target " + MoneyIn(t, c.currency) + ", won " + MoneyIn(p.Won, c.currency) + ")", TestID: "chart-gap", Href: won})
	}
}

func missingCount(m []models.MissingRate) int64 {
	var n int64
	for _, x := range m {
		n += x.Count
	}
	return n
}

// missingSpan says which dates lack a rate ("dated 15 Dec 2025 – 25 Feb 2026", "without a date").
func missingSpan(m models.MissingRate) string {
	switch {
	case m.First == nil:
		return "(without a date: there is no rate at all)"
	case m.First.Equal(m.Last.Time):
		return "(dated " + m.First.Format("2 Jan 2006") + ")"
	}
	return "(dated " + m.First.Format("2 Jan 2006") + " – " + m.Last.Format("2 Jan 2006") + ")"
}
