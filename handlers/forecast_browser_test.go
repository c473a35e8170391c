package handlers_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/views"
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
	april := page.Locator(`#month-2026-04 ol.cards`)
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

// TestBrowserEditFromForecastBoard: a card's panel opens on the forecast board, saves (the card
// shows the new amount) and closes there; the edit page opened on its own saves too and its
// Close goes back to the forecast board, not to the pipeline board. (The edit form once
// targeted a #panel the page lacked, so saving sent nothing.) At desktop and phone size.
func TestBrowserEditFromForecastBoard(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) { editFromForecastBoard(t, size) })
	}
}

func editFromForecastBoard(t *testing.T, size browsertest.Viewport) {
	s, base, b := serveForecast(t)
	page := browsertest.NewPageWith(t, size)
	logInPage(t, s, page, base)
	board := "/forecast/board?from=2026-01&to=2026-04"
	goTo(t, page, base, board)
	card := page.Locator("#card-" + b.ID.String())
	must(t, card.GetByTestId("card-subject").Click())
	panel := page.Locator(`#panel [data-testid="edit-panel"]`)
	must(t, expect.Locator(panel).ToBeVisible())
	must(t, panel.Locator(`#f-estimated_amount`).Fill("25000"))
	must(t, panel.GetByTestId("save").Click())
	must(t, expect.Locator(panel.GetByTestId("form-saved")).ToBeVisible())
	must(t, expect.Locator(card.GetByTestId("card-amount")).ToHaveText("€ 25,000"))
	must(t, panel.GetByTestId("panel-close").Click())
	must(t, expect.Locator(panel).ToHaveCount(0))
	if !strings.Contains(page.URL(), "/forecast/board") {
		t.Fatalf("closing the panel left the forecast board: %s", page.URL())
	}

	// The edit page on its own (the card's link opened in a new tab: the Referer is the board).
	href, err := card.GetByTestId("card-subject").GetAttribute("href")
	must(t, err)
	_, err = page.Goto(base+href, playwright.PageGotoOptions{Referer: playwright.String(base + board)})
	must(t, err)
	must(t, page.Locator(`#f-estimated_amount`).Fill("26000"))
	must(t, page.GetByTestId("save").Click())
	must(t, expect.Locator(page.GetByTestId("form-saved")).ToBeVisible())
	got, err := s.Activity(context.Background(), b.ID)
	must(t, err)
	if got.EstimatedAmount == nil || *got.EstimatedAmount != 26000 {
		t.Fatalf("stored amount %v", got.EstimatedAmount)
	}
	must(t, page.GetByTestId("panel-close").Click())
	must(t, page.WaitForURL(regexp.MustCompile(`/forecast/board\?`)))
	must(t, expect.Locator(page.GetByTestId("forecast-board")).ToBeVisible())
}

// TestBrowserForecastBoardColumns: the forecast board starts at the current month, with an
// Overdue column (takes no drops) and a No date column before it; cards are as compact as the
// board's, the overdue one marked; a drag from Overdue into a month sets the date. At both sizes.
func TestBrowserForecastBoardColumns(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, base, _ := serveForecast(t)
			ctx := context.Background()
			ps, _ := s.SalesPipelines(ctx)
			subject, late := "Late deal", models.NewDate(2026, 1, 15)
			overdue, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &ps[0].ID, ExpectedOrderDate: &late}, models.Actor{})
			must(t, err)
			page := browsertest.NewPageWith(t, size)
			logInPage(t, s, page, base)
			goTo(t, page, base, "/forecast/board")
			titles, err := page.Locator(`.board section.column h2`).AllInnerTexts()
			must(t, err)
			if len(titles) < 3 || !strings.HasPrefix(titles[0], "Overdue") || titles[1] != "No date" || titles[2] != "Feb 2026" {
				t.Fatalf("columns %q", titles)
			}
			card := page.Locator("#card-" + overdue.ID.String())
			must(t, expect.Locator(page.Locator(`#month-overdue #card-`+overdue.ID.String())).ToBeVisible())
			must(t, expect.Locator(card.GetByTestId("card-overdue")).ToBeVisible())
			if h, _ := card.BoundingBox(); h == nil || h.Height > 70 {
				t.Fatalf("a forecast card is %v tall", h)
			}
			if has, _ := page.Locator(`#month-overdue ol.cards`).GetAttribute("data-drop-url"); has != "" {
				t.Fatal("Overdue takes drops")
			}
			// The forecast category is on demand: no card carries its control; the card's "⋯"
			// opens it in the panel.
			must(t, expect.Locator(page.Locator(`.board li.card [data-testid="category-select"]`)).ToHaveCount(0))
			must(t, card.GetByTestId("card-move").Click())
			must(t, expect.Locator(page.Locator(`#panel [data-testid="category-select"]`)).ToBeVisible())
			must(t, page.Keyboard().Press("Escape"))
			must(t, expect.Locator(page.Locator(`#panel [data-testid="category-select"]`)).ToHaveCount(0))
			if size.Phone {
				noHorizontalOverflow(t, page)
				return
			}
			browsertest.DragCardToTop(t, page, card, page.Locator(`#month-2026-02 ol.cards`))
			must(t, expect.Locator(page.Locator(`#month-2026-02 #card-`+overdue.ID.String())).ToBeVisible())
			got, err := s.Activity(ctx, overdue.ID)
			must(t, err)
			if got.ExpectedOrderDate == nil || got.ExpectedOrderDate.String() != "2026-02-15" {
				t.Fatalf("stored %v", got.ExpectedOrderDate)
			}
		})
	}
}

// TestBrowserEveryForecastFigureLinks: on the demo's forecast every figure of the chart's table,
// the periods, the breakdowns, the loss analysis and pipeline health is a link, and following a
// few (a reason's count and amount, a competitor's count, a phase's entered, open and rotting)
// lists exactly that many deals with that Σ. At both sizes.
func TestBrowserEveryForecastFigureLinks(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.New(t, migrations.Postgres)
			mustNot(t, s.LoadDemo(ctx, 150, nil, nil))
			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			logInAs(t, s, page, base, models.RoleManager, nil)
			today := s.Today()
			path := "/forecast?from=" + models.NewDate(today.Year(), today.Month()-6, 1).Format("2006-01") + "&to=" + models.NewDate(today.Year(), today.Month()+2, 1).Format("2006-01")
			goTo(t, page, base, path)
			mustNot(t, page.Locator(`[data-testid="health"][data-loaded="true"]`).WaitFor())
			// Not figures: "—" (no value), and won and lost of the rows apart (overdue, no date),
			// which hold open deals only.
			unlinked, err := page.Evaluate(`ids => ids.flatMap(id => [...document.querySelectorAll('#' + id + ' td')]
				.filter(td => !td.querySelector('a[href^="/forecast/deals?"]') && td.textContent.trim() !== '—' &&
					!(td.parentElement.querySelector('.fc-note') && td.cellIndex > 5))
				.map(td => id + ': ' + td.textContent.trim()))`,
				[]string{"chart-table", "periods-table", "rep-table", "pipeline-table", "phase-table", "loss-reason-table", "loss-competitor-table", "health-table"})
			mustNot(t, err)
			if list, _ := unlinked.([]any); len(list) != 0 {
				t.Fatalf("figures without a link: %v", list)
			}
			follow := func(table string, row, col int, testid string) {
				t.Helper()
				goTo(t, page, base, path)
				mustNot(t, page.Locator(`[data-testid="health"][data-loaded="true"]`).WaitFor())
				link := page.Locator(fmt.Sprintf(`#%s tbody tr:nth-child(%d) > :nth-child(%d) a`, table, row, col))
				figure, err := link.TextContent()
				mustNot(t, err)
				mustNot(t, link.Click())
				mustNot(t, page.WaitForURL(regexp.MustCompile(`/forecast/deals\?`)))
				want := figure
				if testid == "deals-count" {
					want = views.Count(mustAtoi(t, figure))
				}
				must(t, expect.Locator(page.GetByTestId(testid)).ToHaveText(want))
			}
			// The targets' won and open figures (not the target, ratios or commits) link too.
			total := page.GetByTestId("attainment-total")
			for _, cell := range []string{"cell-2", "cell-3", "cell-4", "cell-5"} {
				must(t, expect.Locator(total.GetByTestId(cell).Locator(`a[href^="/forecast/deals?"]`)).ToHaveCount(1))
			}
			// Won: last month's targets (today's month may have no win yet); open commit: this
			// month's (nothing is open in the past). Both are Σ estimated.
			lastMonth := path + "&period=" + models.NewDate(today.Year(), today.Month()-1, 1).Format("2006-01")
			for cell, at := range map[string]string{"cell-2": lastMonth, "cell-4": path} {
				goTo(t, page, base, at)
				link := page.GetByTestId("attainment-total").GetByTestId(cell).Locator("a")
				figure, err := link.TextContent()
				mustNot(t, err)
				mustNot(t, link.Click())
				mustNot(t, page.WaitForURL(regexp.MustCompile(`/forecast/deals\?`)))
				got, err := page.GetByTestId("deals-estimated").TextContent()
				mustNot(t, err)
				if digits(got) != digits(figure) || strings.Trim(digits(figure), "0") == "" {
					t.Errorf("the attainment's %s is %q, its deals sum to %q", cell, figure, got)
				}
			}
			follow("loss-reason-table", 1, 2, "deals-count")
			follow("loss-reason-table", 1, 3, "deals-estimated")
			follow("loss-competitor-table", 2, 2, "deals-count")
			follow("health-table", 1, 2, "deals-count") // entered
			follow("health-table", 1, 6, "deals-count") // open now
			goTo(t, page, base, path)
			mustNot(t, page.Locator(`[data-testid="health"][data-loaded="true"]`).WaitFor())
			rotting, err := page.Evaluate(`() => [...document.querySelectorAll('#health-table tbody tr')].findIndex(tr => tr.children[6].textContent.trim() !== '0') + 1`)
			mustNot(t, err)
			if n, _ := rotting.(int); n > 0 {
				follow("health-table", n, 7, "deals-count")
			} else {
				t.Fatalf("no phase of the demo has rotting deals (%v)", rotting)
			}
		})
	}
}

// digits are a formatted amount's digits (whatever its currency sign).
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 10, 64)
	mustNot(t, err)
	return n
}
