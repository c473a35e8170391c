package views

import (
	"math"
	"net/url"

	"phaseboard/models"
)

// HistoryView is the forecast's history: snapshots, and the waterfall between two moments.
type HistoryView struct {
	Page
	Filter    models.ForecastFilter
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Query     string // the forecast filter as a URL query
	Snapshots []models.Snapshot
	Since     Moment
	Until     Moment
	Measure   string
	Waterfall *models.Waterfall
	Chart     WaterfallChart
	CanSnap   bool // may take a snapshot on demand
	Error     string
	Notice    string
	BarLinks  map[string]string // bar key → its deals' page
	Currency  string
}

// Moment is one end of the waterfall: what the form says (a snapshot id, "now" or a date) and
// how it reads.
type Moment struct {
	Value string
	Label string
	Date  string // the date input's value, when the moment was typed as one
}

// WaterfallQuery is the URL query of a waterfall (filter, moments, measure), for its links.
func WaterfallQuery(filterQuery, since, until, measure string) string {
	q, _ := url.ParseQuery(filterQuery)
	q.Set("since", since)
	q.Set("until", until)
	if measure != "" && measure != models.MeasureEstimated {
		q.Set("measure", measure)
	}
	return q.Encode()
}

// WaterfallChart is the waterfall laid out in Go: the start and end totals as full bars, each
// change as a bar floating from the running total, linking to its opportunities.
type WaterfallChart struct {
	Width, Height int
	Title, Desc   string
	Bars          []WaterfallChartBar
	Texts         []ChartText
	Grid          []ChartLine
}

// WaterfallChartBar is one bar; Href, when set, opens its opportunities.
type WaterfallChartBar struct {
	X, Y, W, H string
	Class      string // wf-total, wf-up, wf-down
	Title      string
	Href       string
	Key        string
}

// NewWaterfallChart lays out w; links are the bars' deal pages by key.
func NewWaterfallChart(w *models.Waterfall, links map[string]string) WaterfallChart {
	const (
		width, height            = 760, 320
		left, right, top, bottom = 72, 12, 24, 64
	)
	c := WaterfallChart{Width: width, Height: height, Title: "What changed in the pipeline between the two moments",
		Desc: "The pipeline at the first moment, each kind of change as a bar rising or falling from there, and the pipeline at the second moment. The table below holds the same numbers."}
	lo, hi, run := math.Min(0, w.Start), math.Max(0, w.Start), w.Start
	for _, b := range w.Bars {
		run += b.Value
		lo, hi = math.Min(lo, run), math.Max(hi, run)
	}
	hi = niceCeil(hi)
	if lo < 0 {
		lo = -niceCeil(-lo)
	}
	plotH := float64(height - top - bottom)
	y := func(v float64) float64 { return float64(top) + (hi-v)/(hi-lo)*plotH }
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		c.Grid = append(c.Grid, ChartLine{X1: f1(left), Y1: f1(y(v)), X2: f1(width - right), Y2: f1(y(v))})
		c.Texts = append(c.Texts, ChartText{X: f1(left - 6), Y: f1(y(v) + 4), Anchor: "end", Text: Short(v, w.Currency), Class: "fc-axis"})
	}
	n := len(w.Bars) + 2
	slot := float64(width-left-right) / float64(n)
	bw := math.Min(48, slot*0.7)
	add := func(i int, key, label string, from, to float64, class, title, href string) {
		x := float64(left) + slot*float64(i) + (slot-bw)/2
		top, bot := y(math.Max(from, to)), y(math.Min(from, to))
		if bot-top < 1 {
			bot = top + 1 // a change of 0 is still a visible line
		}
		c.Bars = append(c.Bars, WaterfallChartBar{X: f1(x), Y: f1(top), W: f1(bw), H: f1(bot - top), Class: class, Title: title, Href: href, Key: key})
		c.Texts = append(c.Texts, ChartText{X: f1(x + bw/2), Y: f1(top - 4), Anchor: "middle", Text: Short(to-from, w.Currency), Class: "fc-value"})
		c.Texts = append(c.Texts, ChartText{X: f1(x + bw/2), Y: f1(float64(height - bottom + 14)), Anchor: "middle", Text: label, Class: "fc-period"})
	}
	add(0, "start", "Start", 0, w.Start, "wf-total", "Pipeline at the first moment: "+MoneyIn(w.Start, w.Currency), "")
	run = w.Start
	for i, b := range w.Bars {
		class := "wf-up"
		if b.Value < 0 {
			class = "wf-down"
		}
		add(i+1, b.Key, shortBarLabel(b.Key), run, run+b.Value, class,
			b.Label+": "+Signed(b.Value, w.Currency)+" ("+itoa(len(b.Deals))+" opportunities)", links[b.Key])
		run += b.Value
	}
	add(n-1, "end", "End", 0, w.End, "wf-total", "Pipeline at the second moment: "+MoneyIn(w.End, w.Currency), "")
	return c
}

// shortBarLabel is a bar's axis label.
func shortBarLabel(key string) string {
	switch key {
	case models.BarNew:
		return "New"
	case models.BarUp:
		return "Up"
	case models.BarDown:
		return "Down"
	case models.BarPulledIn:
		return "Pulled in"
	case models.BarSlipped:
		return "Slipped"
	case models.BarWon:
		return "Won"
	case models.BarLost:
		return "Lost"
	}
	return "Other"
}

// WaterfallDealsView lists the opportunities of one bar.
type WaterfallDealsView struct {
	Page
	Bar        models.WaterfallBar
	Since      Moment
	Until      Moment
	Back       string // the waterfall's URL
	PhaseNames map[string]string
	Currency   string
}

// StateAmount is a deal state's amount in its own currency ("—" when it did not exist).
func StateAmount(st *models.DealState) string {
	if st == nil {
		return "—"
	}
	return MoneyIn(st.EstimatedAmount, st.Currency)
}

// StateDate is a deal state's expected order date, or its outcome.
func StateDate(st *models.DealState) string {
	switch {
	case st == nil:
		return "—"
	case st.IsClosed && st.IsWon:
		return "won"
	case st.IsClosed:
		return "lost"
	}
	return DateText(st.ExpectedOrderDate)
}

func waterfallFill(class string) string {
	switch class {
	case "wf-up":
		return "#74c476"
	case "wf-down":
		return "url(#wf-down)"
	}
	return "#9ecae1"
}

func snapshotBy(s models.Snapshot) string {
	if s.Author == "" {
		return ""
	}
	return ", by " + s.Author
}

func statePhase(st *models.DealState, names map[string]string) string {
	if st == nil {
		return "—"
	}
	return names[st.PhaseID.String()]
}

// ForecastQuery encodes a forecast filter as the forecast URL's query: the page's links and
// the handlers' redirects.
func ForecastQuery(f models.ForecastFilter) string {
	v := url.Values{}
	if f.PipelineID != nil {
		v.Set("pipeline", f.PipelineID.String())
	}
	if f.RepID != nil {
		v.Set("rep", f.RepID.String())
	}
	if f.By != "" && f.By != models.PeriodMonth {
		v.Set("by", f.By)
	}
	v.Set("from", f.From.Format("2006-01"))
	v.Set("to", f.To.Format("2006-01"))
	return v.Encode()
}
