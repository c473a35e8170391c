package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"phaseboard/models"
)

// ForecastView is the forecast page.
type ForecastView struct {
	Page
	Forecast  *models.Forecast
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Query     string // the filter as a URL query: the CSV link and the board link
	Live      string // the page's live stream ("" for a snapshot)
	Error     string // an unusable filter in the URL (the default range is shown instead)
	Chart     Chart
	Health    []models.PhaseHealth
	Rotting   []models.RottingCard
	Targets   *TargetsSectionView // targets and attainment of one period (targets.go)
	Snapshot  *models.Snapshot    // the page shows this snapshot, not today (history.go)
	// Loss analysis: lost deals of the range by reason and by competitor.
	LostByReason, LostByCompetitor []models.LossRow
}

// Tables are every table of the page in page order: the forecast's, the targets', the loss
// analysis's, then pipeline health's. The page and the CSV export both render these, so the export holds what
// the page shows.
func (v ForecastView) Tables() []Table {
	out := ForecastTables(v.Forecast)
	if v.Targets != nil {
		out = append(out, AttainmentTable(v.Targets.Attainment, v.Targets.Currency, v.Targets.Forecast))
	}
	out = append(out, LossTables(v)...)
	return append(out, HealthTables(v.Health, v.Rotting, &v.Forecast.Filter)...)
}

// LossTables are the loss analysis's tables: by reason and by competitor, each figure a link to
// the deals lost for that reason or to that competitor.
func LossTables(v ForecastView) []Table {
	t := func(id, caption, first string, rows []models.LossRow, by string) Table {
		tb := Table{ID: id, Caption: caption, Head: []string{first, "Lost", "Lost amount"}}
		for _, r := range rows {
			d := v.lostDeals(by, r.Key)
			row := TableRow{Cells: []Cell{textCell(r.Name), d.link(countCell(r.Count), "lost", ""), d.link(moneyCell(r.Amount, v.Forecast.Currency), "lost", "")}}
			if r.NoRate > 0 {
				row.Note = fmt.Sprintf("%d without an exchange rate: counted, not summed", r.NoRate)
			}
			tb.Rows = append(tb.Rows, row)
		}
		return tb
	}
	return []Table{t("loss-reason-table", "Lost by reason", "Reason", v.LostByReason, "reason"),
		t("loss-competitor-table", "Lost to competitors", "Competitor", v.LostByCompetitor, "competitor")}
}

// lostDeals are the deals lost in the forecast's range for a reason or to a competitor (by),
// named by its key (models.LossRow). The loss analysis reads today's deals, on a snapshot's
// forecast too, so its links name no snapshot.
func (v ForecastView) lostDeals(by, key string) deals {
	d := dealsUnder(&v.Forecast.Filter)
	if by == "reason" {
		d.reason = key
	} else {
		d.competitor = key
	}
	return d
}

// LostHref links the loss analysis's bars by reason or competitor (by) to their deals.
func (v ForecastView) LostHref(by string) func(key string) string {
	return func(key string) string { return v.lostDeals(by, key).href("lost", "") }
}

// BarChart is a horizontal bar chart laid out in Go (the loss analysis): one labelled bar per
// row, its value written beside it, so that it reads without colour.
type BarChart struct {
	ID, Title string
	Width     int
	Height    int
	Bars      []ChartRect
	Texts     []ChartText
}

// NewBarChart lays out rows as bars of their amount, each a link to href(row's key) when href
// is given.
func NewBarChart(id, title string, rows []models.LossRow, currency string, href func(key string) string) BarChart {
	const width, label, bar, gap, right = 560, 170, 18, 8, 90
	c := BarChart{ID: id, Title: title, Width: width, Height: max(1, len(rows))*(bar+gap) + gap}
	maxV := 0.0
	for _, r := range rows {
		maxV = math.Max(maxV, r.Amount)
	}
	for i, r := range rows {
		y := gap + i*(bar+gap)
		w := 0.0
		if maxV > 0 {
			w = r.Amount / maxV * float64(width-label-right)
		}
		c.Bars = append(c.Bars, ChartRect{X: f1(label), Y: f1(float64(y)), W: f1(w), H: f1(bar),
			Title: r.Name + ": " + i64(r.Count) + " lost, " + MoneyIn(r.Amount, currency), TestID: "loss-bar"})
		if href != nil {
			c.Bars[i].Href = href(r.Key)
		}
		c.Texts = append(c.Texts, ChartText{X: f1(label - 6), Y: f1(float64(y) + bar - 5), Anchor: "end", Text: r.Name, Class: "fc-axis"},
			ChartText{X: f1(label + w + 4), Y: f1(float64(y) + bar - 5), Anchor: "start", Text: Short(r.Amount, currency) + " · " + i64(r.Count), Class: "fc-value"})
	}
	return c
}

// HealthTables are pipeline health's tables: per phase, and the rotting opportunities. Under the
// forecast's filter f each figure links to its deals (the win rate to those it is a rate of,
// the average days to those whose stays it averages) and each rotting deal to its page.
func HealthTables(phases []models.PhaseHealth, rotting []models.RottingCard, f *models.ForecastFilter) []Table {
	opt := func(p *float64, format func(float64) string) Cell {
		if p == nil {
			return Cell{Text: "—", Raw: ""}
		}
		return Cell{Text: format(*p), Raw: strconv.FormatFloat(*p, 'f', 4, 64)}
	}
	perPhase := Table{ID: "health-table", Caption: "Pipeline health per phase (from the move history)",
		Head: []string{"Phase", "Entered", "Won since", "Win rate", "Average days in phase", "Open now", "Rotting"}}
	for _, p := range phases {
		d := dealsUnder(f)
		d.phase = p.ID.String()
		perPhase.Rows = append(perPhase.Rows, TableRow{Cells: []Cell{textCell(p.PipelineName + " · " + p.Name),
			d.link(countCell(p.Entered), models.DealsEntered, ""), d.link(countCell(p.Won), models.DealsEnteredWon, ""),
			d.link(opt(p.WinRate, func(x float64) string { return Percent(math.Round(x*1000) / 10) }), models.DealsEntered, ""),
			d.link(opt(p.AvgDays, func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }), models.DealsStayed, ""),
			d.link(countCell(p.Open), models.DealsInPhase, ""), d.link(countCell(p.Rotting), models.DealsRotting, "")}})
	}
	list := Table{ID: "rotting-table", Caption: "Rotting: open opportunities idle in their phase longer than it allows (longest first)",
		Head: []string{"Opportunity", "Customer", "Rep", "Phase", "Days in phase", "Rotting after (days)", "Estimated"}}
	for _, r := range rotting {
		deal := textCell(r.Number + " " + r.Subject)
		deal.Href = DealHref(r.ID)
		list.Rows = append(list.Rows, TableRow{Cells: []Cell{deal, textCell(r.CustomerName), textCell(r.RepName),
			textCell(r.PhaseName), {Text: strconv.FormatFloat(r.Days, 'f', 0, 64), Raw: strconv.FormatFloat(r.Days, 'f', 2, 64)},
			{Text: strconv.FormatFloat(r.Rot.After, 'f', 0, 64), Raw: strconv.FormatFloat(r.Rot.After, 'f', 2, 64)}, moneyCell(r.EstimatedAmount, r.Currency)}})
	}
	return []Table{perPhase, list}
}

// ForecastBoardView is the forecast board page: one column per month.
type ForecastBoardView struct {
	Page
	Filter    models.ForecastFilter
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Query     string
	Live      string // the page's live stream
	Error     string
	Board     Board
	Views     SavedViews
}

// Chart is the forecast's stacked bar chart, laid out in Go so that the template only draws.
// Each period has a bar of weighted amounts stacked by phase and, beside it, a won bar. Every
// stack has a pattern as well as a colour, and the totals are written above the bars, so the
// chart reads without colour; the same numbers are in the table beside it.
type Chart struct {
	Width, Height int
	Title, Desc   string
	Rects         []ChartRect
	Texts         []ChartText
	Grid          []ChartLine
	Legend        []ChartLegend
	// Each period's target and, above the won bar, the gap left to win (targets.go).
	Targets []ChartLine
	Gaps    []ChartRect

	currency string // of its amounts, the reporting currency
}

// ChartRect is one bar segment.
type ChartRect struct {
	X, Y, W, H string
	Fill       string // a pattern: url(#fc-p0)
	Title      string // the tooltip: "Mar 2026 · Sales · Negotiation: € 34,800"
	TestID     string
	Href       string // the deals behind it ("": no link); the link's name is Title's
}

// ChartText is a label: a period name, a bar total, an axis value.
type ChartText struct {
	X, Y, Anchor, Text, Class string
}

// ChartLine is a grid line of the value axis.
type ChartLine struct{ X1, Y1, X2, Y2 string }

// ChartLegend is one legend entry: a swatch with the bar segment's pattern, and its name.
type ChartLegend struct {
	Fill, Label string
}

// chartPatterns are the fills of the stacks (defined in the template's <defs>); the won bar
// has its own.
const chartPatterns = 6

// chartFill is the pattern of the i-th stack.
func chartFill(i int) string { return fmt.Sprintf("url(#fc-p%d)", i%chartPatterns) }

// NewChart lays out the chart of a forecast.
func NewChart(fc *models.Forecast) Chart {
	const (
		width, height            = 760, 320
		left, right, top, bottom = 72, 12, 24, 44
		barGap                   = 4
	)
	c := Chart{Width: width, Height: height, currency: fc.Currency,
		Title: "Weighted amount per period, stacked by phase, with the won amount beside",
		Desc:  "For each period, a bar of the open opportunities' weighted amount by phase and a bar of the amount won. The table next to the chart holds the same numbers."}
	maxV := 0.0
	for _, p := range fc.Periods {
		maxV = math.Max(maxV, math.Max(math.Max(p.Weighted, p.Won), targetOf(p)))
	}
	top5 := niceCeil(maxV)
	plotH := float64(height - top - bottom)
	y := func(v float64) float64 { return float64(top) + plotH - v/top5*plotH }
	for i := 0; i <= 4; i++ {
		v := top5 * float64(i) / 4
		c.Grid = append(c.Grid, ChartLine{X1: f1(left), Y1: f1(y(v)), X2: f1(width - right), Y2: f1(y(v))})
		c.Texts = append(c.Texts, ChartText{X: f1(left - 6), Y: f1(y(v) + 4), Anchor: "end", Text: Short(v, fc.Currency), Class: "fc-axis"})
	}
	n := len(fc.Periods)
	if n == 0 {
		return c
	}
	slot := float64(width-left-right) / float64(n)
	bar := math.Min(40, (slot-3*barGap)/2)
	all := dealsOf(fc)
	for i, p := range fc.Periods {
		period := all.in(p)
		x0 := float64(left) + slot*float64(i) + (slot-2*bar-barGap)/2
		base := y(0)
		for j, v := range p.PhaseWeighted {
			if v <= 0 {
				continue
			}
			h := y(0) - y(v) // the segment's own height; base climbs as the stack grows
			ph := fc.OpenPhases[j]
			inPhase := period
			inPhase.phase = ph.ID.String()
			c.Rects = append(c.Rects, ChartRect{X: f1(x0), Y: f1(base - h), W: f1(bar), H: f1(h), Fill: chartFill(j),
				Title: p.Label + " · " + ph.PipelineName + " · " + ph.Name + ": " + MoneyIn(v, fc.Currency) + " weighted", TestID: "chart-segment",
				Href: inPhase.href("open", "")})
			base -= h
		}
		if p.Weighted > 0 {
			c.Texts = append(c.Texts, ChartText{X: f1(x0 + bar/2), Y: f1(y(p.Weighted) - 4), Anchor: "middle", Text: Short(p.Weighted, fc.Currency), Class: "fc-value"})
		}
		xw := x0 + bar + barGap
		if p.Won > 0 {
			c.Rects = append(c.Rects, ChartRect{X: f1(xw), Y: f1(y(p.Won)), W: f1(bar), H: f1(y(0) - y(p.Won)), Fill: "url(#fc-won)",
				Title: p.Label + " · won: " + MoneyIn(p.Won, fc.Currency), TestID: "chart-won", Href: period.href("won", "")})
			c.Texts = append(c.Texts, ChartText{X: f1(xw + bar/2), Y: f1(y(p.Won) - 4), Anchor: "middle", Text: "W " + Short(p.Won, fc.Currency), Class: "fc-value"})
		}
		c.Texts = append(c.Texts, ChartText{X: f1(x0 + bar + barGap/2.0), Y: f1(float64(height - bottom + 16)), Anchor: "middle", Text: p.Label, Class: "fc-period"})
		c.addTarget(p, x0, xw+bar, xw, bar, y, period.href("won", ""))
	}
	for j, ph := range fc.OpenPhases {
		c.Legend = append(c.Legend, ChartLegend{Fill: chartFill(j), Label: ph.PipelineName + " · " + ph.Name})
	}
	c.Legend = append(c.Legend, ChartLegend{Fill: "url(#fc-won)", Label: "Won (bar beside, “W”)"})
	if len(c.Targets) > 0 {
		c.Legend = append(c.Legend, ChartLegend{Fill: "url(#fc-gap)", Label: "Gap to target (above the won bar; the dashed line is the target)"})
	}
	return c
}

// niceCeil rounds a maximum up to 1, 2, 4, 6 or 8 times a power of ten, so that each of the
// axis's four steps is a round number too.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1000
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Short formats an amount in a currency for a chart label ("€ 46.8k", "$ 1.2M"; see MoneyIn).
func Short(v float64, currency string) string {
	one := func(x float64) string { return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0") }
	sign := strings.TrimSuffix(MoneyIn(0, currency), "0") // "€ ", "$ ", "CHF "
	switch a := math.Abs(v); {
	case a >= 1e6:
		return sign + one(v/1e6) + "M"
	case a >= 1e3:
		return sign + one(v/1e3) + "k"
	}
	return MoneyIn(v, currency)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// CategoryName is how a forecast category reads on screen.
func CategoryName(c string) string {
	if c == models.ForecastBestCase {
		return "Best case"
	}
	return c
}

// Table is one of the forecast's tables, built once for the page and for the CSV export, so
// that the export holds exactly what the page shows.
type Table struct {
	ID, Caption string
	Head        []string
	Rows        []TableRow
	Foot        []TableRow
}

// TableRow is a row; its first cell names it (a row header).
type TableRow struct {
	Cells []Cell
	Note  string // why the row is apart ("expected before today"), shown and exported
}

// Cell is a value as shown (Text) and as exported (Raw: plain numbers, no currency sign), and
// on the page a link to the deals behind it (Href).
type Cell struct{ Text, Raw, Href string }

func textCell(s string) Cell { return Cell{Text: s, Raw: s} }
func moneyCell(v float64, currency string) Cell {
	return Cell{Text: MoneyIn(v, currency), Raw: strconv.FormatFloat(v, 'f', 2, 64)}
}
func countCell(n int64) Cell { return Cell{Text: i64(n), Raw: i64(n)} }

var figureHead = []string{"Open", "Estimated", "Weighted", "Best case", "Commit", "Won", "Won amount", "Lost", "Lost amount"}

// deals builds the links from a forecast's figures to the deals behind them (/forecast/deals):
// the forecast's filter (nil: the figure has no link), narrowed to a range, pipeline, rep, phase
// or, for lost deals, a reason or competitor. A snapshot's figures name the snapshot, so that
// their deals page (today's deals) says the figure came from it.
type deals struct {
	filter               *models.ForecastFilter
	snapshot             string // the snapshot's id; "": today's forecast
	from, to             models.Date
	pipeline, rep, phase string
	reason, competitor   string
}

// dealsUnder links figures of today's deals under filter f, over its whole range.
func dealsUnder(f *models.ForecastFilter) deals { return deals{filter: f, from: f.From, to: f.To} }

// dealsOf links the figures of forecast fc's whole range, naming its snapshot if it is one's.
func dealsOf(fc *models.Forecast) deals {
	d := dealsUnder(&fc.Filter)
	if id, ok := fc.Source.Snapshot(); ok {
		d.snapshot = id.String()
	}
	return d
}

// in narrows d to period p.
func (d deals) in(p models.ForecastPeriod) deals {
	d.from, d.to = p.Start, p.End
	return d
}

func (d deals) href(kind, category string) string {
	v := url.Values{"k": {kind}, "from": {d.from.Format("2006-01")}, "to": {d.to.Format("2006-01")}}
	if p := d.pipeline; p != "" {
		v.Set("pipeline", p)
	} else if d.filter.PipelineID != nil {
		v.Set("pipeline", d.filter.PipelineID.String())
	}
	if r := d.rep; r != "" {
		v.Set("rep", r)
	} else if d.filter.RepID != nil {
		v.Set("rep", d.filter.RepID.String())
	}
	for key, value := range map[string]string{"phase": d.phase, "category": category, "reason": d.reason, "competitor": d.competitor, "snapshot": d.snapshot} {
		if value != "" {
			v.Set(key, value)
		}
	}
	return "/forecast/deals?" + v.Encode()
}

// dealsHref links a forecast's total to its deals.
func dealsHref(fc *models.Forecast, kind, category string) string {
	return dealsOf(fc).href(kind, category)
}

// DealsView is one page of the deals behind a forecast figure, with the totals of all of them.
type DealsView struct {
	Title      string
	Back       string
	Deals      []models.ForecastCard
	Totals     models.DealsTotals
	PhaseNames map[string]string // phase id → "Sales · Proposal"
	First      int               // the position of the page's first deal, when not the first page
	Next       string            // the next page's URL, if there is one
	// The figure came from this snapshot (nil: from today's forecast); the deals listed are today's.
	Snapshot *models.Snapshot
}

// DealsPerPage is how many deals a page of them shows.
const DealsPerPage = models.DealsPageSize

// Shown says which of the deals the page shows when they take more than one page ("501–1000 of 1,234").
func (v DealsView) Shown() string {
	if v.First == 0 && v.Next == "" {
		return ""
	}
	first := max(v.First, 1)
	return "Deals " + strconv.Itoa(first) + "–" + strconv.Itoa(first+len(v.Deals)-1) + " of " + strconv.FormatInt(v.Totals.Count, 10)
}

// DealHref is a deal's own page (its edit panel, without JavaScript).
func DealHref(id uuid.UUID) string { return "/board/activities/" + id.String() + "/edit" }

func (d deals) link(c Cell, kind, category string) Cell {
	if d.filter != nil {
		c.Href = d.href(kind, category)
	}
	return c
}

func figureCells(f models.ForecastFigures, d deals, cur string) []Cell {
	return []Cell{d.link(countCell(f.Count), "open", ""), d.link(moneyCell(f.Estimated, cur), "open", ""), d.link(moneyCell(f.Weighted, cur), "open", ""),
		d.link(moneyCell(f.BestCase, cur), "open", models.ForecastBestCase), d.link(moneyCell(f.Commit, cur), "open", models.ForecastCommit),
		d.link(countCell(f.WonCount), "won", ""), d.link(moneyCell(f.Won, cur), "won", ""), d.link(countCell(f.LostCount), "lost", ""), d.link(moneyCell(f.Lost, cur), "lost", "")}
}

// ForecastTables are the forecast's tables in page order: the chart's numbers, the periods
// (with the opportunities shown apart and the total), and the breakdowns.
func ForecastTables(fc *models.Forecast) []Table {
	chart := Table{ID: "chart-table", Caption: "Weighted amount per period and phase, and won amount (the chart's numbers)", Head: []string{"Period"}}
	for _, ph := range fc.OpenPhases {
		chart.Head = append(chart.Head, ph.PipelineName+" · "+ph.Name)
	}
	chart.Head = append(chart.Head, "Weighted", "Won amount")
	all := dealsOf(fc)
	for _, p := range fc.Periods {
		one := all.in(p)
		row := TableRow{Cells: []Cell{textCell(p.Label)}}
		for i, v := range p.PhaseWeighted {
			inPhase := one
			inPhase.phase = fc.OpenPhases[i].ID.String()
			row.Cells = append(row.Cells, inPhase.link(moneyCell(v, fc.Currency), "open", ""))
		}
		row.Cells = append(row.Cells, one.link(moneyCell(p.Weighted, fc.Currency), "open", ""), one.link(moneyCell(p.Won, fc.Currency), "won", ""))
		chart.Rows = append(chart.Rows, row)
	}

	periods := Table{ID: "periods-table", Caption: "Forecast per period", Head: append([]string{"Period"}, figureHead...)}
	for _, p := range fc.Periods {
		periods.Rows = append(periods.Rows, TableRow{Cells: append([]Cell{textCell(p.Label)}, figureCells(p.ForecastFigures, all.in(p), fc.Currency)...)})
	}
	apart := func(f models.ForecastFigures, kind string) []Cell {
		cells := figureCells(f, deals{}, fc.Currency)
		for i := range cells[:5] { // the open figures; nothing apart is won or lost
			cells[i] = all.link(cells[i], kind, "")
		}
		return cells
	}
	periods.Foot = []TableRow{
		{Cells: append([]Cell{textCell("Total")}, figureCells(fc.Total, all, fc.Currency)...)},
		{Cells: append([]Cell{textCell("Overdue")}, apart(fc.Overdue, "overdue")...), Note: "open, expected before " + fc.Today.Format("2 Jan 2006")},
		{Cells: append([]Cell{textCell("No expected date")}, apart(fc.NoDate, "nodate")...), Note: "open, without an expected order date"},
	}

	breakdown := func(id, caption, first string, rows []models.ForecastRow, by func(r models.ForecastRow) deals) Table {
		t := Table{ID: id, Caption: caption, Head: append(append([]string{first}, figureHead...), "Overdue", "Overdue amount", "No date", "No date amount")}
		for _, r := range rows {
			d := by(r)
			cells := append([]Cell{textCell(r.Name)}, figureCells(r.ForecastFigures, d, fc.Currency)...)
			cells = append(cells, d.link(countCell(r.Overdue.Count), "overdue", ""), d.link(moneyCell(r.Overdue.Estimated, fc.Currency), "overdue", ""),
				d.link(countCell(r.NoDate.Count), "nodate", ""), d.link(moneyCell(r.NoDate.Estimated, fc.Currency), "nodate", ""))
			t.Rows = append(t.Rows, TableRow{Cells: cells})
		}
		return t
	}
	return []Table{chart, periods,
		breakdown("rep-table", "By sales representative", "Rep", fc.ByRep, func(r models.ForecastRow) deals {
			if r.Key == "" {
				return deals{} // unassigned: no filter names them
			}
			d := all
			d.rep = r.Key
			return d
		}),
		breakdown("pipeline-table", "By pipeline", "Pipeline", fc.ByPipeline, func(r models.ForecastRow) deals { d := all; d.pipeline = r.Key; return d }),
		breakdown("phase-table", "By phase", "Phase", fc.ByPhase, func(r models.ForecastRow) deals { d := all; d.phase = r.Key; return d })}
}
