package views

import (
	"fmt"
	"strconv"

	"phaseboard/models"
)

// ConversionView is the conversion and velocity page of one pipeline.
type ConversionView struct {
	Page
	Filter     models.ForecastFilter // pipeline (set), rep, by, from, to: the periods of creation
	Pipelines  []models.Pipeline
	Reps       []models.Employee
	Report     *models.Conversion
	ByPipeline []PipelineConversion
	Funnel     FunnelChart
	Query      string
}

// PipelineConversion is one pipeline's totals in the page's range.
type PipelineConversion struct {
	Name string
	Row  models.FunnelRow
}

// FunnelChart is the funnel laid out in Go: one centred bar per stage, as wide as the share of
// the cohort that reached it.
type FunnelChart struct {
	Width, Height int
	Title, Desc   string
	Bars          []ChartRect
	Texts         []ChartText
}

// NewFunnelChart lays out the funnel of r over stages.
func NewFunnelChart(stages []string, r models.FunnelRow) FunnelChart {
	const width, rowH, gap, labelW = 760, 34, 10, 150
	c := FunnelChart{Width: width, Height: len(stages)*(rowH+gap) + gap,
		Title: "How far the opportunities created in the range got",
		Desc:  "One bar per stage, as wide as the share of the cohort that reached it, with the conversion from the stage before. The table below holds the same numbers."}
	full := float64(width - labelW - 20)
	for i, name := range stages {
		reached := r.Reached[i]
		share := 0.0
		if r.Cohort > 0 {
			share = float64(reached) / float64(r.Cohort)
		}
		w := full * share
		if w < 2 && reached > 0 {
			w = 2
		}
		y := float64(gap + i*(rowH+gap))
		x := float64(labelW) + (full-w)/2
		title := fmt.Sprintf("%s: %d of %d reached it (%s of the cohort)", name, reached, r.Cohort, sharePct(share))
		text := fmt.Sprintf("%d · %s", reached, sharePct(share))
		if i > 0 && r.Conversion[i-1] != nil {
			title += fmt.Sprintf("; %s of those in %s", sharePct(*r.Conversion[i-1]), stages[i-1])
			text += " · " + sharePct(*r.Conversion[i-1]) + " from " + stages[i-1]
		}
		c.Bars = append(c.Bars, ChartRect{X: f1(x), Y: f1(y), W: f1(w), H: f1(rowH), Fill: chartFill(i), Title: title, TestID: "funnel-stage"})
		c.Texts = append(c.Texts, ChartText{X: f1(labelW - 8), Y: f1(y + rowH/2 + 4), Anchor: "end", Text: name, Class: "fc-period"})
		c.Texts = append(c.Texts, ChartText{X: f1(float64(labelW) + full/2), Y: f1(y + rowH/2 + 4), Anchor: "middle", Text: text, Class: "fc-value"})
	}
	return c
}

func sharePct(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" }

// FunnelTable is a breakdown of funnels: per rep or per period.
func FunnelTable(id, caption, first string, stages []string, rows []models.FunnelRow) Table {
	t := Table{ID: id, Caption: caption, Head: []string{first, "Created"}}
	for i, s := range stages {
		t.Head = append(t.Head, "Reached "+s)
		if i+1 < len(stages) {
			t.Head = append(t.Head, s+" → "+stages[i+1])
		}
	}
	t.Head = append(t.Head, "Won", "Lost", "Win rate", "Cycle (days)")
	for _, r := range rows {
		cells := []Cell{textCell(r.Name), countCell(r.Cohort)}
		for i := range stages {
			cells = append(cells, countCell(r.Reached[i]))
			if i+1 < len(stages) {
				cells = append(cells, Cell{Text: Ratio(r.Conversion[i]), Raw: optRaw(r.Conversion[i], 4)})
			}
		}
		cycle := Cell{Text: "—"}
		if r.CycleDays != nil {
			cycle = Cell{Text: strconv.FormatFloat(*r.CycleDays, 'f', 1, 64), Raw: strconv.FormatFloat(*r.CycleDays, 'f', 2, 64)}
		}
		cells = append(cells, countCell(r.Won), countCell(r.Lost), Cell{Text: Ratio(r.WinRate), Raw: optRaw(r.WinRate, 4)}, cycle)
		t.Rows = append(t.Rows, TableRow{Cells: cells})
	}
	return t
}

// ConversionTables are the page's tables in page order.
func (v ConversionView) ConversionTables() []Table {
	r := v.Report
	total := FunnelTable("funnel-table", "The funnel (the chart's numbers)", "Cohort", r.Stages, []models.FunnelRow{r.Total})
	byRep := FunnelTable("funnel-rep-table", "By sales representative (current owner)", "Rep", r.Stages, r.ByRep)
	byPeriod := FunnelTable("funnel-period-table", "By period of creation", "Period", r.Stages, r.ByPeriod)
	pipes := Table{ID: "funnel-pipeline-table", Caption: "By pipeline", Head: []string{"Pipeline", "Created", "Won", "Lost", "Win rate", "Cycle (days)"}}
	for _, p := range v.ByPipeline {
		cycle := Cell{Text: "—"}
		if p.Row.CycleDays != nil {
			cycle = Cell{Text: strconv.FormatFloat(*p.Row.CycleDays, 'f', 1, 64)}
		}
		pipes.Rows = append(pipes.Rows, TableRow{Cells: []Cell{textCell(p.Name), countCell(p.Row.Cohort), countCell(p.Row.Won), countCell(p.Row.Lost),
			{Text: Ratio(p.Row.WinRate)}, cycle}})
	}
	return []Table{total, byRep, byPeriod, pipes}
}

func cycleText(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + " days"
}
