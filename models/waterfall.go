package models

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
)

// The waterfall: what changed in the pipeline between two moments. The pipeline is the open
// opportunities expected in the filter's range (its pipeline, its rep, what the reader may see),
// summed as EstimatedAmount (or WeightedAmount) in the reporting currency. Every opportunity
// that changed between the two moments falls in one bar:
//
//   - new: did not exist at the start, is in the pipeline at the end;
//   - amount up / amount down: in the pipeline at both, worth more or less;
//   - pulled in: its date moved earlier — into the range from after it (or from no date), or
//     out of it to before its start;
//   - slipped: its date moved later — out of the range past its end (or to no date), or into it
//     from before its start;
//   - won / lost: in the pipeline at the start, won or lost by the end;
//   - other: anything else that moved it in or out (deleted, reassigned, another pipeline,
//     reopened).
//
// The start plus every bar is the end, exactly. The states come from deal_history; the totals
// from the maintained rollups, less what changed since: total(T) = total(now) − Σ of the
// changes after T, so only the opportunities that changed are read.

// Bars of the waterfall, in drawing order.
const (
	BarNew      = "new"
	BarUp       = "amount-up"
	BarDown     = "amount-down"
	BarPulledIn = "pulled-in"
	BarSlipped  = "slipped"
	BarWon      = "won"
	BarLost     = "lost"
	BarOther    = "other"
)

// WaterfallBars names the bars in drawing order.
var WaterfallBars = []struct{ Key, Label string }{
	{BarNew, "New deals"}, {BarUp, "Amount up"}, {BarDown, "Amount down"}, {BarPulledIn, "Pulled in"},
	{BarSlipped, "Slipped"}, {BarWon, "Won"}, {BarLost, "Lost"}, {BarOther, "Other (deleted, reassigned, reopened)"},
}

// Measures of the waterfall.
const (
	MeasureEstimated = "estimated"
	MeasureWeighted  = "weighted"
)

// WaterfallFilter is the pipeline the waterfall follows and its two moments.
type WaterfallFilter struct {
	ForecastFilter // pipeline, rep, and the range From–To of expected order dates
	Since, Until   time.Time
	Measure        string // MeasureEstimated (default) or MeasureWeighted
}

// WaterfallDeal is one opportunity's change.
type WaterfallDeal struct {
	ID            uuid.UUID
	Subject       string // "" when it was deleted
	Number        string
	Before, After *DealState // nil: did not exist (or was deleted)
	From, To      float64    // its worth in the pipeline at each moment (0 outside it)
	Delta         float64
}

// WaterfallBar is one bar: its net change and its opportunities, the largest change first.
type WaterfallBar struct {
	Key, Label string
	Value      float64
	Deals      []WaterfallDeal
}

// Waterfall is the change of the pipeline between two moments.
type Waterfall struct {
	Filter       WaterfallFilter
	Currency     string
	Start, End   float64
	Bars         []WaterfallBar // every bar, in WaterfallBars' order, empty ones too
	MissingRates []MissingRate  // left out of every figure (counted here)
}

// Bar returns the bar with key, or nil.
func (w *Waterfall) Bar(key string) *WaterfallBar {
	for i := range w.Bars {
		if w.Bars[i].Key == key {
			return &w.Bars[i]
		}
	}
	return nil
}

// Waterfall computes the waterfall of f for the ctx's reader.
func (s *Store) Waterfall(ctx context.Context, f WaterfallFilter) (*Waterfall, error) {
	ff, err := f.ForecastFilter.Normalised()
	if err != nil {
		return nil, err
	}
	f.ForecastFilter = ff
	switch f.Measure {
	case "":
		f.Measure = MeasureEstimated
	case MeasureEstimated, MeasureWeighted:
	default:
		return nil, FieldError("measure", "Follow the estimated or the weighted amount.")
	}
	if !f.Since.Before(f.Until) {
		return nil, FieldError("since", "The first moment must come before the second.")
	}
	var out *Waterfall
	err = s.report(ctx, func(r *Store) error {
		out, err = r.waterfall(ctx, f)
		return err
	})
	return out, err
}

func (s *Store) waterfall(ctx context.Context, f WaterfallFilter) (*Waterfall, error) {
	pipelines, _, err := s.forecastScope(ctx, f.ForecastFilter)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(pipelines))
	inPipeline := map[uuid.UUID]bool{}
	for i, p := range pipelines {
		ids[i] = p.ID
		inPipeline[p.ID] = true
	}
	out := &Waterfall{Filter: f}
	missing := missingRates{}

	// The pipeline now, from the rollups.
	rows, err := s.rows(ctx, SourceLive, rowQuery{pipelines: ids, owner: s.ownerCondition(ctx, f.RepID), openFrom: f.From, openTo: f.To, fold: PeriodMonth})
	if err != nil {
		return nil, err
	}
	conv, currency, err := s.convert(ctx, rows, missing)
	if err != nil {
		return nil, err
	}
	out.Currency = currency
	now := 0.0
	for _, r := range conv {
		now += measure(f.Measure, r.Estimated, r.Weighted)
	}

	// Every opportunity that changed after the first moment, with its whole history.
	var hist []DealState
	if err := s.db(ctx).Where("activity_id IN (SELECT h.activity_id FROM deal_history h WHERE h.at > ?)", f.Since).
		Order("activity_id, at, seq").Find(&hist).Error; err != nil {
		return nil, err
	}
	need := needRates{}
	for _, h := range hist {
		need.add(h.Currency, h.ExpectedOrderDate)
	}
	rates, err := s.converter(ctx, need)
	if err != nil {
		return nil, err
	}
	scope := s.readScope(ctx)
	// in reports whether a state is in the pipeline the waterfall follows.
	in := func(st *DealState) bool {
		return inRange(st, f) && inPipeline[st.PipelineID] && (f.RepID == nil || sameID(st.SalesRepresentativeID, f.RepID)) &&
			scope.Allows(&Activity{SalesRepresentativeID: st.SalesRepresentativeID})
	}
	// worth is what a state adds to the pipeline: 0 outside it; ok is false when it is in the
	// pipeline but has no rate (then it is left out of every figure, and counted).
	worth := func(st *DealState) (float64, bool) {
		if !in(st) {
			return 0, true
		}
		rate, ok := rates.Rate(st.Currency, st.ExpectedOrderDate)
		if !ok {
			return 0, false
		}
		return rate * measure(f.Measure, st.EstimatedAmount, st.WeightedAmount), true
	}
	at := func(states []DealState, t time.Time) *DealState {
		var cur *DealState
		for i := range states {
			if states[i].At.After(t) {
				break
			}
			cur = &states[i]
		}
		if cur != nil && cur.Op == ChangeDeleted {
			return nil
		}
		return cur
	}
	byBar := map[string]*WaterfallBar{}
	for _, b := range WaterfallBars {
		out.Bars = append(out.Bars, WaterfallBar{Key: b.Key, Label: b.Label})
	}
	for i := range out.Bars {
		byBar[out.Bars[i].Key] = &out.Bars[i]
	}
	start, end := now, now
	for i := 0; i < len(hist); {
		j := i
		for j < len(hist) && hist[j].ActivityID == hist[i].ActivityID {
			j++
		}
		states := hist[i:j]
		i = j
		latest := at(states, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
		vNow, okNow := worth(latest)
		a, b := at(states, f.Since), at(states, f.Until)
		vA, okA := worth(a)
		vB, okB := worth(b)
		// Left out for want of a rate: counted once (the rollups counted those lacking one now).
		switch {
		case !okNow:
		case !okA:
			missing.add(a.Currency, a.ExpectedOrderDate, 1)
		case !okB:
			missing.add(b.Currency, b.ExpectedOrderDate, 1)
		}
		start -= vNow - vA
		if states[len(states)-1].At.After(f.Until) {
			end -= vNow - vB
		}
		if !changedBetween(states, f.Since, f.Until) {
			continue
		}
		d := WaterfallDeal{ID: states[0].ActivityID, Before: a, After: b, From: vA, To: vB, Delta: vB - vA}
		bar := barOf(a, b, f, in(a), in(b), d.Delta)
		if bar == "" {
			continue
		}
		w := byBar[bar]
		w.Value += d.Delta
		w.Deals = append(w.Deals, d)
	}
	out.Start, out.End = start, end
	out.MissingRates = missing.list()
	if err := s.nameDeals(ctx, out); err != nil {
		return nil, err
	}
	for i := range out.Bars {
		deals := out.Bars[i].Deals
		sort.SliceStable(deals, func(a, b int) bool {
			x, y := deals[a].Delta, deals[b].Delta
			if x < 0 {
				x = -x
			}
			if y < 0 {
				y = -y
			}
			return x > y
		})
	}
	return out, nil
}

func measure(m string, estimated, weighted float64) float64 {
	if m == MeasureWeighted {
		return weighted
	}
	return estimated
}

// changedBetween reports whether an opportunity has a history row in (since, until].
func changedBetween(states []DealState, since, until time.Time) bool {
	for _, st := range states {
		if st.At.After(since) && !st.At.After(until) {
			return true
		}
	}
	return false
}

// inRange reports whether a state is open and expected within the filter's range.
func inRange(st *DealState, f WaterfallFilter) bool {
	return st != nil && !st.IsClosed && st.ExpectedOrderDate != nil && !st.ExpectedOrderDate.Before(f.From.Time) && !st.ExpectedOrderDate.After(f.To.Time)
}

// barOf is the bar of a change from state a to state b (either nil: not there); inA and inB
// say whether each was in the pipeline, delta is the change of its worth. "" is no bar (it
// stayed out, or stayed in at the same worth).
func barOf(a, b *DealState, f WaterfallFilter, inA, inB bool, delta float64) string {
	after := func(st *DealState) bool { return st.ExpectedOrderDate == nil || st.ExpectedOrderDate.After(f.To.Time) }
	before := func(st *DealState) bool {
		return st.ExpectedOrderDate != nil && st.ExpectedOrderDate.Before(f.From.Time)
	}
	switch {
	case inA && inB && delta > 0:
		return BarUp
	case inA && inB && delta < 0:
		return BarDown
	case !inA && inB:
		switch {
		case a == nil:
			return BarNew
		case a.IsClosed:
			return BarOther
		case after(a) && sameOwnerAndPipeline(a, b):
			return BarPulledIn
		case before(a) && sameOwnerAndPipeline(a, b):
			return BarSlipped
		}
		return BarOther
	case inA && !inB:
		switch {
		case b == nil:
			return BarOther
		case b.IsClosed && b.IsWon:
			return BarWon
		case b.IsClosed:
			return BarLost
		case after(b) && sameOwnerAndPipeline(a, b):
			return BarSlipped
		case before(b) && sameOwnerAndPipeline(a, b):
			return BarPulledIn
		}
		return BarOther
	}
	return ""
}

func sameOwnerAndPipeline(a, b *DealState) bool {
	return a.PipelineID == b.PipelineID && sameID(a.SalesRepresentativeID, b.SalesRepresentativeID)
}

// nameDeals gives the waterfall's opportunities their subject and number (deleted ones keep
// none).
func (s *Store) nameDeals(ctx context.Context, w *Waterfall) error {
	var ids []uuid.UUID
	for _, b := range w.Bars {
		for _, d := range b.Deals {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		ID      uuid.UUID
		Subject string
		Number  string
	}
	if err := s.db(ctx).Model(&Activity{}).Select("id, subject, number").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return err
	}
	names := map[uuid.UUID]int{}
	for i, r := range rows {
		names[r.ID] = i
	}
	for i := range w.Bars {
		for j := range w.Bars[i].Deals {
			d := &w.Bars[i].Deals[j]
			if k, ok := names[d.ID]; ok {
				d.Subject, d.Number = rows[k].Subject, rows[k].Number
			}
		}
	}
	return nil
}

// SalesPhaseNames names every phase of the sales pipelines, archived ones too ("Sales ·
// Proposal"): the states of the history may be in any of them.
func (s *Store) SalesPhaseNames(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		ID       uuid.UUID
		Pipeline string
		Name     string
	}
	err := s.db(ctx).Table("phases AS ph").Joins("JOIN pipelines pl ON pl.id = ph.pipeline_id").
		Where("pl.activity_type = ?", SalesOpportunity.Type).Select("ph.id, pl.name AS pipeline, ph.name").Scan(&rows).Error
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID.String()] = r.Pipeline + " · " + r.Name
	}
	return out, err
}
