package models_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestBoardFilterByExpectedClose: the board's expected-close choices select by the forecast
// fixture's dates (today Tuesday 10 February 2026), both in the cards and in the column
// figures, under the reader's visibility; the choice is relative, so the same filter selects
// other deals when the calendar moves on.
func TestBoardFilterByExpectedClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newForecastFixture(t, s)
		ctx := context.Background()
		board := func(ctx context.Context, bf models.BoardFilter) string {
			t.Helper()
			bf.PipelineID = f.sales.ID
			cols, err := s.Columns(ctx, bf)
			if err != nil {
				t.Fatal(err)
			}
			var subjects []string
			var counted int64
			var amount float64
			for _, col := range cols {
				cards, err := s.Cards(ctx, bf, col.Phase.ID, nil, 1000)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cards {
					subjects = append(subjects, c.Subject)
					amount -= c.EstimatedAmount
				}
				counted += col.Count
				amount += col.Estimated
			}
			if counted != int64(len(subjects)) || amount != 0 {
				t.Fatalf("%+v: the columns count %d (Σ off by %v), the cards are %v", bf, counted, amount, subjects)
			}
			sort.Strings(subjects)
			return strings.Join(subjects, "")
		}
		all := models.StatusAll
		for _, c := range []struct {
			filter models.BoardFilter
			want   string
		}{
			{models.BoardFilter{Status: all}, "ABCDEFGHIJKM"},
			{models.BoardFilter{Status: all, Close: models.CloseThisMonth}, "ABEI"},
			{models.BoardFilter{Status: models.StatusOpen, Close: models.CloseThisMonth}, "ABE"},
			{models.BoardFilter{Status: all, Close: models.CloseThisQuarter}, "ABCDEHIJ"}, // 31 March is in
			{models.BoardFilter{Status: all, Close: models.CloseNextQuarter}, "KM"},
			{models.BoardFilter{Status: all, Close: models.CloseOverdue}, "EF"}, // open only: J closed in January
			{models.BoardFilter{Status: all, Close: models.CloseNoDate}, "G"},
			{models.BoardFilter{Status: all, Close: models.CloseThisQuarter, RepID: &f.anna, Mine: true}, "ACHJ"},
		} {
			if got := board(ctx, c.filter); got != c.want {
				t.Errorf("%+v: %s, want %s", c.filter, got, c.want)
			}
		}
		// A rep who sees only their own deals (and unassigned ones): the visibility rule still applies.
		s.RepVisibility = models.VisibilityOwn
		bram := models.WithActor(ctx, models.Actor{Role: models.RoleRep, EmployeeID: &f.bram})
		if got := board(bram, models.BoardFilter{Status: all, Close: models.CloseThisQuarter}); got != "BDEI" {
			t.Errorf("Bram's quarter: %s, want BDEI", got)
		}
		// The calendar moves on: on 1 April "this quarter" is the second.
		s.Now = func() time.Time { return time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC) }
		if got := board(ctx, models.BoardFilter{Status: all, Close: models.CloseThisQuarter}); got != "KM" {
			t.Errorf("this quarter on 1 April: %s, want KM", got)
		}
		if _, err := s.Columns(ctx, models.BoardFilter{PipelineID: f.sales.ID, Close: "someday"}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("an unknown choice: %v", err)
		}
	})
}
