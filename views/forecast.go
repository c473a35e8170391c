package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"phaseboard/models"
)

// ForecastView is the forecast page.
type ForecastView struct {
	Page
	Forecast  *models.Forecast
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Query     string // the filter as a URL query: the CSV link and the board link
	Error     string // an unusable filter in the URL (the default range is shown instead)
	Chart     Chart
	Health    []models.PhaseHealth
	Rotting   []models.RottingCard
}

// Tables are every table of the page in page order: the forecast's, then pipeline health's.
// The page and the CSV export both render these, so the export holds what the page shows.
func (v ForecastView) Tables() []Table {
	return append(ForecastTables(v.Forecast), HealthTables(v.Health, v.Rotting)...)
}

// HealthTables are pipeline health's tables: per phase, and the rotting opportunities.
func HealthTables(phases []models.PhaseHealth, rotting []models.RottingCard) []Table {
	opt := func(p *float64, format func(float64) string) Cell {
		if p == nil {
			return Cell{Text: "—", Raw: ""}
		}
		return Cell{Text: format(*p), Raw: strconv.FormatFloat(*p, 'f', 4, 64)}
	}
	perPhase := Table{ID: "health-table", Caption: "Pipeline health per phase (from the move history)",
		Head: []string{"Phase", "Entered", "Won since", "Win rate", "Average days in phase", "Open now", "Rotting"}}
	for _, p := range phases {
		perPhase.Rows = append(perPhase.Rows, TableRow{Cells: []Cell{textCell(p.PipelineName + " · " + p.Name),
			countCell(p.Entered), countCell(p.Won), opt(p.WinRate, func(x float64) string { return Percent(math.Round(x*1000) / 10) }),
			opt(p.AvgDays, func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }), countCell(p.Open), countCell(p.Rotting)}})
	}
	list := Table{ID: "rotting-table", Caption: "Rotting: open opportunities idle in their phase longer than it allows (longest first)",
		Head: []string{"Opportunity", "Customer", "Rep", "Phase", "Days in phase", "Rotting after (days)", "Estimated"}}
	for _, r := range rotting {
		list.Rows = append(list.Rows, TableRow{Cells: []Cell{textCell(r.Number + " " + r.Subject), textCell(r.CustomerName), textCell(r.RepName),
			textCell(r.PhaseName), {Text: strconv.FormatFloat(r.Days, 'f', 0, 64), Raw: strconv.FormatFloat(r.Days, 'f', 2, 64)},
			{Text: strconv.FormatFloat(r.Rot.After, 'f', 0, 64), Raw: strconv.FormatFloat(r.Rot.After, 'f', 2, 64)}, moneyCell(r.EstimatedAmount)}})
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
	Error     string
	Board     Board
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
}

// ChartRect is one bar segment.
type ChartRect struct {
	X, Y, W, H string
	Fill       string // a pattern: url(#fc-p0)
	Title      string // the tooltip: "Mar 2026 · Sales · Negotiation: € 34,800"
	TestID     string
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
	c := Chart{Width: width, Height: height,
		Title: "Weighted amount per period, stacked by phase, with the won amount beside",
		Desc:  "For each period, a bar of the open opportunities' weighted amount by phase and a bar of the amount won. The table next to the chart holds the same numbers."}
	maxV := 0.0
	for _, p := range fc.Periods {
		maxV = math.Max(maxV, math.Max(p.Weighted, p.Won))
	}
	top5 := niceCeil(maxV)
	plotH := float64(height - top - bottom)
	y := func(v float64) float64 { return float64(top) + plotH - v/top5*plotH }
	for i := 0; i <= 4; i++ {
		v := top5 * float64(i) / 4
		c.Grid = append(c.Grid, ChartLine{X1: f1(left), Y1: f1(y(v)), X2: f1(width - right), Y2: f1(y(v))})
		c.Texts = append(c.Texts, ChartText{X: f1(left - 6), Y: f1(y(v) + 4), Anchor: "end", Text: Short(v), Class: "fc-axis"})
	}
	n := len(fc.Periods)
	if n == 0 {
		return c
	}
	slot := float64(width-left-right) / float64(n)
	bar := math.Min(40, (slot-3*barGap)/2)
	for i, p := range fc.Periods {
		x0 := float64(left) + slot*float64(i) + (slot-2*bar-barGap)/2
		base := y(0)
		for j, v := range p.PhaseWeighted {
			if v <= 0 {
				continue
			}
			h := y(0) - y(v) // the segment's own height; base climbs as the stack grows
			ph := fc.OpenPhases[j]
			c.Rects = append(c.Rects, ChartRect{X: f1(x0), Y: f1(base - h), W: f1(bar), H: f1(h), Fill: chartFill(j),
				Title: p.Label + " · " + ph.PipelineName + " · " + ph.Name + ": " + Money(v), TestID: "chart-segment"})
			base -= h
		}
		if p.Weighted > 0 {
			c.Texts = append(c.Texts, ChartText{X: f1(x0 + bar/2), Y: f1(y(p.Weighted) - 4), Anchor: "middle", Text: Short(p.Weighted), Class: "fc-value"})
		}
		xw := x0 + bar + barGap
		if p.Won > 0 {
			c.Rects = append(c.Rects, ChartRect{X: f1(xw), Y: f1(y(p.Won)), W: f1(bar), H: f1(y(0) - y(p.Won)), Fill: "url(#fc-won)",
				Title: p.Label + " · won: " + Money(p.Won), TestID: "chart-won"})
			c.Texts = append(c.Texts, ChartText{X: f1(xw + bar/2), Y: f1(y(p.Won) - 4), Anchor: "middle", Text: "W " + Short(p.Won), Class: "fc-value"})
		}
		c.Texts = append(c.Texts, ChartText{X: f1(x0 + bar + barGap/2.0), Y: f1(float64(height - bottom + 16)), Anchor: "middle", Text: p.Label, Class: "fc-period"})
	}
	for j, ph := range fc.OpenPhases {
		c.Legend = append(c.Legend, ChartLegend{Fill: chartFill(j), Label: ph.PipelineName + " · " + ph.Name})
	}
	c.Legend = append(c.Legend, ChartLegend{Fill: "url(#fc-won)", Label: "Won (bar beside, “W”)"})
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

// Short formats an amount for a chart label ("€ 46.8k", "€ 1.2M").
func Short(v float64) string {
	one := func(x float64) string { return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0") }
	switch a := math.Abs(v); {
	case a >= 1e6:
		return "€ " + one(v/1e6) + "M"
	case a >= 1e3:
		return "€ " + one(v/1e3) + "k"
	}
	return Money(v)
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

// Cell is a value as shown (Text) and as exported (Raw: plain numbers, no currency sign).
type Cell struct{ Text, Raw string }

func textCell(s string) Cell   { return Cell{Text: s, Raw: s} }
func moneyCell(v float64) Cell { return Cell{Text: Money(v), Raw: strconv.FormatFloat(v, 'f', 2, 64)} }
func countCell(n int64) Cell   { return Cell{Text: i64(n), Raw: i64(n)} }

var figureHead = []string{"Open", "Estimated", "Weighted", "Best case", "Commit", "Won", "Won amount", "Lost", "Lost amount"}

func figureCells(f models.ForecastFigures) []Cell {
	return []Cell{countCell(f.Count), moneyCell(f.Estimated), moneyCell(f.Weighted), moneyCell(f.BestCase), moneyCell(f.Commit),
		countCell(f.WonCount), moneyCell(f.Won), countCell(f.LostCount), moneyCell(f.Lost)}
}

// ForecastTables are the forecast's tables in page order: the chart's numbers, the periods
// (with the opportunities shown apart and the total), and the breakdowns.
func ForecastTables(fc *models.Forecast) []Table {
	chart := Table{ID: "chart-table", Caption: "Weighted amount per period and phase, and won amount (the chart's numbers)", Head: []string{"Period"}}
	for _, ph := range fc.OpenPhases {
		chart.Head = append(chart.Head, ph.PipelineName+" · "+ph.Name)
	}
	chart.Head = append(chart.Head, "Weighted", "Won amount")
	for _, p := range fc.Periods {
		row := TableRow{Cells: []Cell{textCell(p.Label)}}
		for _, v := range p.PhaseWeighted {
			row.Cells = append(row.Cells, moneyCell(v))
		}
		row.Cells = append(row.Cells, moneyCell(p.Weighted), moneyCell(p.Won))
		chart.Rows = append(chart.Rows, row)
	}

	periods := Table{ID: "periods-table", Caption: "Forecast per period", Head: append([]string{"Period"}, figureHead...)}
	for _, p := range fc.Periods {
		periods.Rows = append(periods.Rows, TableRow{Cells: append([]Cell{textCell(p.Label)}, figureCells(p.ForecastFigures)...)})
	}
	periods.Foot = []TableRow{
		{Cells: append([]Cell{textCell("Total")}, figureCells(fc.Total)...)},
		{Cells: append([]Cell{textCell("Overdue")}, figureCells(fc.Overdue)...), Note: "open, expected before " + fc.Today.Format("2 Jan 2006")},
		{Cells: append([]Cell{textCell("No expected date")}, figureCells(fc.NoDate)...), Note: "open, without an expected order date"},
	}

	breakdown := func(id, caption, first string, rows []models.ForecastRow) Table {
		t := Table{ID: id, Caption: caption, Head: append(append([]string{first}, figureHead...), "Overdue", "Overdue amount", "No date", "No date amount")}
		for _, r := range rows {
			cells := append([]Cell{textCell(r.Name)}, figureCells(r.ForecastFigures)...)
			cells = append(cells, countCell(r.Overdue.Count), moneyCell(r.Overdue.Estimated), countCell(r.NoDate.Count), moneyCell(r.NoDate.Estimated))
			t.Rows = append(t.Rows, TableRow{Cells: cells})
		}
		return t
	}
	return []Table{chart, periods,
		breakdown("rep-table", "By sales representative", "Rep", fc.ByRep),
		breakdown("pipeline-table", "By pipeline", "Pipeline", fc.ByPipeline),
		breakdown("phase-table", "By phase", "Phase", fc.ByPhase)}
}
