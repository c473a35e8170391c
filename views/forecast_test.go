package views

import (
	"bytes"
	"context"
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
	if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `<title>Feb 2026 · Sales · Proposal: € 6,000</title>`) || !strings.Contains(svg, `id="fc-p1"`) {
		t.Errorf("svg %s", svg)
	}
}
