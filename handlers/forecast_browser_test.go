package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// serveForecast starts Phaseboard on an empty SQLite database with the demo reference data and two
// opportunities expected in February 2026, as of 10 February 2026.
func serveForecast(t *testing.T) (*models.Store, string, *models.Activity) {
	s := storetest.New(t, migrations.SQLite)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC) }
	ps, _ := s.SalesPipelines(ctx)
	reps, _ := s.Employees(ctx)
	var last *models.Activity
	for i, amount := range []float64{10000, 20000} {
		subject, d := []string{"Deal A", "Deal B"}[i], models.NewDate(2026, 2, 20+i)
		a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &ps[0].ID,
			EstimatedAmount: &amount, ExpectedOrderDate: &d, SalesRepresentativeID: &reps[i].ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		last = a
	}
	return s, serve(t, s), last
}

// mustNot fails the test on an error.
func mustNot(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestForecastFilterChangesChartAndTable(t *testing.T) {
	s, base, _ := serveForecast(t)
	page := browsertest.NewPage(t)
	logInPage(t, s, page, base)
	_, err := page.Goto(base + "/forecast?from=2026-01&to=2026-04")
	mustNot(t, err)
	weighted := page.GetByTestId("sum-weighted")
	txt, _ := weighted.TextContent()
	if txt != "€ 3,000" { // 10% of 10,000 + 10% of 20,000
		t.Fatalf("weighted %q", txt)
	}
	segs, _ := page.Locator(`[data-testid="chart-segment"]`).Count()
	_, err = page.GetByTestId("filter-rep").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"Bram Jansen"}})
	mustNot(t, err)
	mustNot(t, page.GetByTestId("filter-apply").Click())
	mustNot(t, page.WaitForURL(regexp.MustCompile(`[?&]rep=`)))
	txt, _ = page.GetByTestId("sum-weighted").TextContent()
	if txt != "€ 2,000" {
		t.Fatalf("weighted for Bram %q", txt)
	}
	title, _ := page.Locator(`[data-testid="chart-segment"] title`).First().TextContent()
	row, _ := page.Locator(`#periods-table tbody tr`).Nth(1).TextContent()
	if !strings.Contains(title, "€ 2,000") || !strings.Contains(row, "€ 20,000") || segs != 1 {
		t.Fatalf("chart %q row %q segments before %d", title, row, segs)
	}
	// Pipeline health arrives after the figures.
	mustNot(t, page.Locator(`#health[data-loaded="true"] #health-table`).WaitFor())
}

func TestForecastBoardDragPersists(t *testing.T) {
	s, base, b := serveForecast(t)
	page := browsertest.NewPage(t)
	logInPage(t, s, page, base)
	_, err := page.Goto(base + "/forecast/board?from=2026-01&to=2026-04")
	mustNot(t, err)
	card := page.Locator("#card-" + b.ID.String())
	april := page.Locator(`ol.cards[data-month="2026-04"]`)
	browsertest.DragCardToTop(t, page, card, april)
	browsertest.WaitIdle(t, page)
	got, err := s.Activity(context.Background(), b.ID)
	mustNot(t, err)
	if got.ExpectedOrderDate.String() != "2026-04-21" {
		t.Fatalf("stored %v", got.ExpectedOrderDate)
	}
	n, _ := page.Locator(`#month-2026-04 [data-testid="column-count"]`).GetAttribute("data-value")
	w, _ := page.Locator(`#month-2026-02 [data-testid="column-weighted"]`).TextContent()
	if n != "1" || w != "€ 1,000" {
		t.Fatalf("april count %s, february weighted %s", n, w)
	}
	// And the page agrees after a reload.
	_, err = page.Reload()
	mustNot(t, err)
	if c, _ := page.Locator(`#month-2026-04 li.card`).Count(); c != 1 {
		t.Fatalf("april after reload: %d cards", c)
	}
}
