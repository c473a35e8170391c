package handlers_test

import (
	"context"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// TestBrowserAdminAddsUserAndClient: an admin adds a user and an API client through the forms,
// choosing a role and an employee in each (the selects once showed as raw template text and
// every add was refused or made a manager).
func TestBrowserAdminAddsUserAndClient(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, migrations.Postgres)
	must(t, s.LoadDemo(ctx, 0, nil, nil))
	reps, err := s.Employees(ctx)
	must(t, err)
	emp := reps[1]
	base := serve(t, s)
	page := browsertest.NewPageWith(t, browsertest.Desktop)
	logInAs(t, s, page, base, models.RoleAdmin, nil)

	goTo(t, page, base, "/admin/users")
	form := page.GetByTestId("add-user")
	must(t, expect.Locator(form).Not().ToContainText("@roleSelect"))
	must(t, form.GetByLabel("Email").Fill("new.rep@phaseboard.example"))
	must(t, form.GetByLabel("Password").Fill("a-long-password"))
	_, err = form.GetByLabel("Role").SelectOption(playwright.SelectOptionValues{Values: &[]string{models.RoleRep}})
	must(t, err)
	_, err = form.GetByLabel("Employee").SelectOption(playwright.SelectOptionValues{Values: &[]string{emp.ID.String()}})
	must(t, err)
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add user"}).Click())
	row := page.Locator(`[data-testid="user-row"][data-email="new.rep@phaseboard.example"]`)
	must(t, expect.Locator(row).ToContainText(emp.FullName()))
	users, err := s.Users(ctx)
	must(t, err)
	var u *models.User
	for i := range users {
		if users[i].Email == "new.rep@phaseboard.example" {
			u = &users[i]
		}
	}
	if u == nil || u.Role != models.RoleRep || u.EmployeeID == nil || *u.EmployeeID != emp.ID {
		t.Fatalf("stored user: role %q, employee %v", u.Role, u.EmployeeID)
	}

	goTo(t, page, base, "/admin/clients")
	form = page.GetByTestId("add-client")
	must(t, expect.Locator(form).Not().ToContainText("@employeeSelect"))
	must(t, form.GetByLabel("Name").Fill("Rep's import"))
	_, err = form.GetByLabel("Role").SelectOption(playwright.SelectOptionValues{Values: &[]string{models.RoleRep}})
	must(t, err)
	_, err = form.GetByLabel("Acts as employee").SelectOption(playwright.SelectOptionValues{Values: &[]string{emp.ID.String()}})
	must(t, err)
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add client"}).Click())
	must(t, expect.Locator(page.GetByTestId("new-client")).ToBeVisible())
	clients, err := s.APIClients(ctx)
	must(t, err)
	var found *models.APIClient
	for i := range clients {
		if clients[i].Name == "Rep's import" {
			found = &clients[i]
		}
	}
	if found == nil || found.Role != models.RoleRep || found.EmployeeID == nil || *found.EmployeeID != emp.ID {
		t.Fatalf("stored client %+v", found)
	}
}

// TestBrowserAdminSetsRottingAfter: the phase form sets and clears a phase's "rotting after N
// days" (out of range is refused: TestRottingOnTheBoardAndInHealth).
func TestBrowserAdminSetsRottingAfter(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, migrations.SQLite)
	must(t, s.LoadDemo(ctx, 0, nil, nil))
	pipe, phases := fixture(t, s)
	base := serve(t, s)
	page := browsertest.NewPageWith(t, browsertest.Desktop)
	logInAs(t, s, page, base, models.RoleAdmin, nil)
	goTo(t, page, base, "/admin/pipelines/"+pipe.ID.String())
	row := page.Locator(`[data-testid="phase-row"][data-phase="Proposal"]`)
	save := func(v string) {
		t.Helper()
		must(t, row.GetByTestId("rot-after-days").Fill(v))
		must(t, row.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Save", Exact: playwright.Bool(true)}).Click())
	}
	stored := func() *int {
		t.Helper()
		p, err := s.Phase(ctx, phases["Proposal"].ID)
		must(t, err)
		return p.RotAfterDays
	}
	save("14")
	must(t, expect.Locator(row.GetByTestId("rot-after-days")).ToHaveValue("14"))
	if d := stored(); d == nil || *d != 14 {
		t.Fatalf("stored %v, want 14", d)
	}
	save("")
	must(t, expect.Locator(row.GetByTestId("rot-after-days")).ToHaveValue(""))
	if d := stored(); d != nil {
		t.Fatalf("stored %v, want none", *d)
	}
}
