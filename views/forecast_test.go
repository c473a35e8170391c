package views

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"phaseboard/models"
)

func TestChartLayout(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{0, 1000}, {1, 1}, {46800, 60000}, {2.1e6, 4e6}, {8e5, 8e5}, {801, 1000}} {
		if got := niceCeil(c.in); got != c.want {
			t.Errorf("niceCeil(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	fc := &models.Forecast{
		OpenPhases: []models.ForecastPhase{{Phase: models.Phase{Name: "Qualification"}, PipelineName: "Sales"}, {Phase: models.Phase{Name: "Proposal"}, PipelineName: "Sales"}},
		Periods: []models.ForecastPeriod{
			{Label: "Feb 2026", ForecastFigures: models.ForecastFigures{Weighted: 7000, Won: 12000}, PhaseWeighted: []float64{1000, 6000}},
			{Label: "Mar 2026", PhaseWeighted: []float64{0, 0}}, // empty: no bar, still a label
		},
	}
	ch := NewChart(fc)
	var segs, won int
	for _, r := range ch.Rects {
		switch r.TestID {
		case "chart-segment":
			segs++
		case "chart-won":
			won++
		}
	}
	if segs != 2 || won != 1 || len(ch.Legend) != 3 || ch.Legend[0].Fill == ch.Legend[1].Fill {
		t.Fatalf("segments %d won %d legend %+v", segs, won, ch.Legend)
	}
	var labels []string
	for _, x := range ch.Texts {
		labels = append(labels, x.Text)
	}
	all := strings.Join(labels, "|")
	for _, want := range []string{"Feb 2026", "Mar 2026", "€ 7k", "W € 12k", "€ 20k"} {
		if !strings.Contains(all, want) {
			t.Errorf("labels %s lack %s", all, want)
		}
	}
	var buf bytes.Buffer
	if err := forecastChart(ch).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	// A group, not an img (which would hide its bars' links), each bar a link named by its title.
	if !strings.Contains(svg, `role="group"`) || !strings.Contains(svg, `<title>Feb 2026 · Sales · Proposal: € 6,000 weighted</title>`) || !strings.Contains(svg, `id="fc-p1"`) ||
		!strings.Contains(svg, `aria-label="Feb 2026 · Sales · Proposal: € 6,000 weighted: list the deals" class="fc-bar-link"`) {
		t.Errorf("svg %s", svg)
	}
}

// Stacked segments are each as tall as their own value, and the stack is as tall as the
// period's weighted total (a segment once took its height from the stack's top: negative).
func TestChartStackHeightsAddUp(t *testing.T) {
	fc := &models.Forecast{
		OpenPhases: []models.ForecastPhase{{Phase: models.Phase{Name: "A"}}, {Phase: models.Phase{Name: "B"}}, {Phase: models.Phase{Name: "C"}}},
		Periods: []models.ForecastPeriod{
			{Label: "Feb", ForecastFigures: models.ForecastFigures{Weighted: 60000}, PhaseWeighted: []float64{10000, 20000, 30000}},
		},
	}
	ch := NewChart(fc)
	var heights []float64
	for _, r := range ch.Rects {
		h, err := strconv.ParseFloat(r.H, 64)
		if err != nil || h <= 0 {
			t.Fatalf("segment height %q", r.H)
		}
		heights = append(heights, h)
	}
	if len(heights) != 3 {
		t.Fatalf("%d segments", len(heights))
	}
	// 10k : 20k : 30k, within the 0.1 px rounding of the layout.
	if math.Abs(heights[1]-2*heights[0]) > 0.2 || math.Abs(heights[2]-3*heights[0]) > 0.2 {
		t.Fatalf("heights %v are not in proportion 1:2:3", heights)
	}
	plot := float64(ch.Height - 24 - 44) // top and bottom margins of NewChart
	if total := heights[0] + heights[1] + heights[2]; math.Abs(total-plot*60000/niceCeil(60000)) > 0.3 {
		t.Fatalf("stack %.1f px, want %.1f", total, plot*60000/niceCeil(60000))
	}
}
