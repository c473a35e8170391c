package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/models"
	"phaseboard/web/browsertest"
)

// A manager sets targets on the targets page; they stick, and the forecast shows attainment
// against them and draws the gap.
func TestTargetsPageInTheBrowser(t *testing.T) {
	s, base, _ := serveForecast(t)
	page := browsertest.NewPage(t)
	logInPage(t, s, page, base)
	_, err := page.Goto(base + "/forecast/targets?year=2026")
	mustNot(t, err)
	mustNot(t, page.GetByLabel("Anna de Vries, Feb 2026").Fill("40,000"))
	mustNot(t, page.GetByLabel("Team (total), Feb 2026").Fill("100000"))
	mustNot(t, page.GetByTestId("targets-save").Click())
	mustNot(t, page.GetByTestId("targets-notice").WaitFor())
	if v, _ := page.GetByLabel("Anna de Vries, Feb 2026").InputValue(); v != "40000" {
		t.Fatalf("Anna's February after saving: %q", v)
	}
	// A typo is refused, says so, and keeps what was typed.
	mustNot(t, page.GetByLabel("Bram Jansen, Mar 2026").Fill("lots"))
	mustNot(t, page.GetByTestId("targets-save").Click())
	msg, _ := page.GetByTestId("targets-error").TextContent()
	if v, _ := page.GetByLabel("Bram Jansen, Mar 2026").InputValue(); v != "lots" || !strings.Contains(msg, "Mar 2026") {
		t.Fatalf("typo: %q, %q", v, msg)
	}
	// Quarters: Anna's month target shows inside Q1.
	_, err = page.Goto(base + "/forecast/targets?year=2026&by=quarter")
	mustNot(t, err)
	if txt, _ := page.Locator(`tr[data-key="team"] td`).First().TextContent(); !strings.Contains(txt, "months: € 100,000") {
		t.Errorf("team's Q1: %q", txt)
	}
	_, err = page.Goto(base + "/forecast?from=2026-01&to=2026-04&period=2026-02")
	mustNot(t, err)
	total, _ := page.GetByTestId("attainment-total").TextContent()
	if !strings.Contains(total, "€ 100,000") || !strings.Contains(total, "€ 3,000") {
		t.Errorf("team total %q", total)
	}
	if n, _ := page.Locator(`[data-testid="chart-gap"]`).Count(); n != 1 {
		t.Errorf("%d gaps on the chart, want February's", n)
	}
}

// A manager adjusts a rep's commit with a note; the forecast shows the rep's number, the
// manager's and the difference, and keeps every adjustment.
func TestOverrideFlowInTheBrowser(t *testing.T) {
	s, base, _ := serveForecast(t)
	page := browsertest.NewPage(t)
	logInPage(t, s, page, base)
	_, err := page.Goto(base + "/forecast?from=2026-01&to=2026-04&period=2026-02")
	mustNot(t, err)
	reps, _ := s.Employees(context.Background())
	bram := page.Locator(`[data-testid="override"][data-rep="` + reps[1].ID.String() + `"]`)
	for i, x := range []struct{ amount, note string }{{"8000", "first guess"}, {"9000", "after the call"}} {
		mustNot(t, bram.Locator("summary").Click())
		mustNot(t, bram.GetByTestId("override-amount").Fill(x.amount))
		mustNot(t, bram.GetByTestId("override-note").Fill(x.note))
		mustNot(t, bram.GetByTestId("override-save").Click())
		mustNot(t, page.WaitForURL(regexp.MustCompile(`period=2026-02`)))
		mustNot(t, page.WaitForLoadState())
		if got, _ := bram.GetByTestId("manager-commit").TextContent(); got != "€ "+x.amount[:1]+","+x.amount[1:] {
			t.Fatalf("after adjustment %d: manager's %q", i+1, got)
		}
	}
	rep, _ := bram.GetByTestId("rep-commit").TextContent()
	diff, _ := bram.GetByTestId("commit-difference").TextContent()
	history, _ := bram.GetByTestId("override-history").TextContent()
	if rep != "€ 0" || diff != "+ € 9,000" || !strings.Contains(history, "after the call") || !strings.Contains(history, "first guess") ||
		strings.Index(history, "after the call") > strings.Index(history, "first guess") {
		t.Errorf("rep %q difference %q history %q", rep, diff, history)
	}
}

// The waterfall since a snapshot taken from the page: a changed amount is a bar, and the bar
// opens the deal behind it.
func TestWaterfallInTheBrowser(t *testing.T) {
	s, base, b := serveForecast(t)
	page := browsertest.NewPage(t)
	logInPage(t, s, page, base)
	_, err := page.Goto(base + "/forecast/history?from=2026-01&to=2026-04")
	mustNot(t, err)
	mustNot(t, page.GetByTestId("take-snapshot").Click())
	mustNot(t, page.GetByTestId("history-notice").WaitFor())
	// Later that day, Deal B grows from 20,000 to 26,000.
	s.Now = func() time.Time { return time.Date(2026, 2, 10, 15, 0, 0, 0, time.UTC) }
	_, err = s.UpdateActivity(context.Background(), b.ID, models.ActivityChanges{EstimatedAmount: ptrTo(26000.0)}, models.Actor{})
	mustNot(t, err)
	_, err = page.Goto(base + "/forecast/history?from=2026-01&to=2026-04")
	mustNot(t, err)
	if v, _ := page.Locator(`[data-bar="amount-up"] [data-testid="waterfall-value"]`).TextContent(); v != "+ € 6,000" {
		t.Fatalf("amount-up %q", v)
	}
	end, _ := page.GetByTestId("waterfall-end").TextContent()
	if !strings.Contains(end, "€ 36,000") {
		t.Errorf("end %q", end)
	}
	mustNot(t, page.Locator(`svg [data-testid="waterfall-bar"][data-bar="amount-up"] rect`).Click(playwright.LocatorClickOptions{Force: playwright.Bool(true)}))
	mustNot(t, page.WaitForURL(regexp.MustCompile(`/forecast/history/deals\?bar=amount-up`)))
	row, _ := page.GetByTestId("waterfall-deal").TextContent()
	if !strings.Contains(row, "Deal B") || !strings.Contains(row, "+ € 6,000") || !strings.Contains(row, "€ 20,000") || !strings.Contains(row, "€ 26,000") {
		t.Errorf("deal row %q", row)
	}
	mustNot(t, page.GetByTestId("waterfall-back").Click())
	mustNot(t, page.GetByTestId("waterfall-chart").WaitFor())
}
