package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// More of issue 13 in the browser: quick add, the overdue mark on /board, who and when in the
// panel's timeline, at desktop and phone size.

// referenceOnly is an embedded database with the demo's reference data and no deals.
func referenceOnly(t *testing.T) (context.Context, *models.Store) {
	t.Helper()
	s := storetest.New(t, migrations.SQLite)
	must(t, s.LoadDemo(context.Background(), 0, nil, nil))
	return context.Background(), s
}

// TestBrowserQuickAddRecordsWhatTheRepKnows: a rep's quick add with a customer picked from the
// type-ahead, then with a new one, an amount and an expected date, is the rep's card with those
// values: on the board and in the database (the existing customer reused, the new one added once).
func TestBrowserQuickAddRecordsWhatTheRepKnows(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx, s := referenceOnly(t)
			reps, err := s.Employees(ctx)
			must(t, err)
			rep := reps[1]
			existing := "Quick Add Existing BV"
			existingID, err := s.SaveRelationship(ctx, nil, models.RelationshipChanges{Name: &existing}, models.Actor{})
			must(t, err)
			customers := func() int64 {
				var n int64
				must(t, s.DB.Model(&models.Relationship{}).Count(&n).Error)
				return n
			}
			before := customers()
			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			logInAs(t, s, page, base, models.RoleRep, &rep.ID)
			goTo(t, page, base, "/board")
			// The type-ahead offers the existing customers.
			must(t, expect.Locator(page.Locator(`datalist#customer-names option[value="`+existing+`"]`)).ToHaveCount(1))
			must(t, expect.Locator(page.GetByTestId("quick-add-customer")).ToHaveAttribute("list", "customer-names"))

			add := func(subject, customer, amount, date string) *models.Activity {
				t.Helper()
				if open, _ := page.GetByTestId("quick-add").Evaluate(`el => el.open`, nil); open != true {
					must(t, page.GetByTestId("quick-add-open").Click())
				}
				must(t, page.GetByTestId("quick-add-subject").Fill(subject))
				must(t, page.GetByTestId("quick-add-customer").Fill(customer))
				must(t, page.GetByTestId("quick-add-amount").Fill(amount))
				must(t, page.GetByTestId("quick-add-date").Fill(date))
				must(t, page.GetByTestId("quick-add-submit").Click())
				card := page.Locator(`.board li.card`, playwright.PageLocatorOptions{HasText: subject})
				must(t, expect.Locator(card).ToHaveCount(1))
				must(t, expect.Locator(card.GetByTestId("card-customer")).ToHaveText(customer))
				must(t, expect.Locator(card.GetByTestId("card-owner")).ToHaveAttribute("title", rep.FullName()))
				must(t, expect.Locator(card.GetByTestId("card-expected")).ToHaveAttribute("data-value", date))
				id, err := card.GetAttribute("data-id")
				must(t, err)
				a, err := s.Activity(ctx, mustUUID(t, id))
				must(t, err)
				if a.SalesRepresentativeID == nil || *a.SalesRepresentativeID != rep.ID || a.ExpectedOrderDate == nil || a.ExpectedOrderDate.String() != date {
					t.Fatalf("%s: rep %v, expected %v", subject, a.SalesRepresentativeID, a.ExpectedOrderDate)
				}
				return a
			}
			date := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
			a := add("Picked customer deal", existing, "12500", date)
			if a.RelationshipID == nil || *a.RelationshipID != existingID || a.EstimatedAmount == nil || *a.EstimatedAmount != 12500 {
				t.Fatalf("with an existing customer: customer %v (want %v), amount %v", a.RelationshipID, existingID, a.EstimatedAmount)
			}
			must(t, expect.Locator(page.Locator(`.board li.card`, playwright.PageLocatorOptions{HasText: "Picked customer deal"}).GetByTestId("card-amount")).ToHaveText("€ 12,500"))
			if n := customers(); n != before {
				t.Fatalf("picking an existing customer added one: %d customers, were %d", n, before)
			}
			b := add("New customer deal", "Brand New Customer BV", "7300.50", date)
			var added models.Relationship
			must(t, s.DB.Where("organization_id IN (SELECT id FROM relations WHERE name = ?)", "Brand New Customer BV").Take(&added).Error)
			if b.RelationshipID == nil || *b.RelationshipID != added.ID || b.EstimatedAmount == nil || *b.EstimatedAmount != 7300.5 || customers() != before+1 {
				t.Fatalf("with a new customer: customer %v (added %v), amount %v, %d customers (were %d)", b.RelationshipID, added.ID, b.EstimatedAmount, customers(), before)
			}
		})
	}
}

// TestBrowserBoardOverdueMark: on /board an open deal expected before today is marked overdue;
// one expected today, one without a date and a closed one expected long ago are not.
func TestBrowserBoardOverdueMark(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx, s := referenceOnly(t)
			_, phases := fixture(t, s)
			today := s.Today()
			yesterday, longAgo := models.Date{Time: today.AddDate(0, 0, -1)}, models.Date{Time: today.AddDate(0, -3, 0)}
			dated := func(subject string, d *models.Date) *models.Activity {
				a := newCard(t, s, subject)
				if d != nil {
					_, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{ExpectedOrderDate: d}, models.Actor{})
					must(t, err)
				}
				return a
			}
			late := dated("Late deal", &yesterday)
			dated("Due today", &today)
			dated("Undated deal", nil)
			won := dated("Won long ago", &longAgo)
			_, err := s.MoveActivity(ctx, won.ID, phases["Won"].ID, nil, nil, nil, models.Actor{})
			must(t, err)
			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			logInAs(t, s, page, base, models.RoleManager, nil)
			goTo(t, page, base, "/board?status=all")
			marks := page.Locator(`.board li.card:has([data-testid="card-overdue"])`)
			must(t, expect.Locator(marks).ToHaveCount(1))
			must(t, expect.Locator(marks).ToHaveAttribute("data-id", late.ID.String()))
			must(t, expect.Locator(page.Locator("#card-"+late.ID.String()).GetByTestId("card-overdue")).ToHaveText("Overdue"))
		})
	}
}

// TestBrowserPanelTimelineSaysWhoAndWhen: each entry of the panel's move history says when
// (a machine-readable datetime and the text) and who moved the deal.
func TestBrowserPanelTimelineSaysWhoAndWhen(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx, s := referenceOnly(t)
			reps, err := s.Employees(ctx)
			must(t, err)
			_, phases := fixture(t, s)
			created := time.Now().UTC().Add(-50 * time.Hour).Truncate(time.Minute).Add(7 * time.Second)
			moved := created.Add(26*time.Hour + 13*time.Minute)
			s.Now = func() time.Time { return created }
			subject := "Timeline deal"
			deal, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, SalesRepresentativeID: &reps[0].ID},
				models.Actor{Role: models.RoleRep, EmployeeID: &reps[0].ID})
			must(t, err)
			s.Now = func() time.Time { return moved }
			_, err = s.MoveActivity(ctx, deal.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{Role: models.RoleManager, EmployeeID: &reps[1].ID})
			must(t, err)
			s.Now = time.Now

			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			logInAs(t, s, page, base, models.RoleManager, nil)
			goTo(t, page, base, "/board")
			must(t, page.Locator("#card-"+deal.ID.String()).GetByTestId("card-subject").Click())
			entries := page.Locator(`#panel [data-testid="history"] li`)
			must(t, expect.Locator(entries).ToHaveCount(2))
			for i, want := range []struct {
				text string
				at   time.Time
				by   models.Employee
			}{{"Qualification → Proposal", moved, reps[1]}, {"Created in Qualification", created, reps[0]}} {
				e := entries.Nth(i)
				must(t, expect.Locator(e.Locator(".timeline-text")).ToHaveText(want.text))
				must(t, expect.Locator(e.Locator("time")).ToHaveAttribute("datetime", want.at.Format(time.RFC3339)))
				must(t, expect.Locator(e.Locator("time")).ToHaveText(want.at.Format("2 Jan 2006, 15:04")))
				by, err := e.Locator(".muted").TextContent()
				must(t, err)
				if !strings.Contains(by, want.by.FirstName) {
					t.Errorf("entry %d is by %q, want %s", i, by, want.by.FullName())
				}
			}
		})
	}
}
