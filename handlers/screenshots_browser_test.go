package handlers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// TestScreenshots takes the README's screenshots (the board, a card's panel, the forecast and
// the forecast board at both sizes, as a rep, on the demo data) into the folder
// PHASEBOARD_SCREENSHOTS names (`make screenshots`: static/docs/screenshots), else into a
// temporary folder, where they show that those pages render and the panel opens.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PHASEBOARD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	must(t, os.MkdirAll(dir, 0o755))
	ctx := context.Background()
	s := storetest.New(t, migrations.SQLite)
	s.Now = func() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }
	must(t, s.LoadDemo(ctx, 150, nil, nil))
	base := serve(t, s)
	reps, err := s.Employees(ctx)
	must(t, err)
	for _, size := range browsertest.Sizes {
		page := browsertest.NewPageWith(t, size)
		logInAs(t, s, page, base, models.RoleRep, &reps[0].ID)
		shot := func(name string) {
			t.Helper()
			_, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join(dir, name+"-"+size.Name+".png"))})
			must(t, err)
		}
		goTo(t, page, base, "/board")
		shot("board")
		must(t, page.Locator(`li.card [data-testid="card-subject"]`).First().Click())
		must(t, expect.Locator(page.Locator(`#panel [data-testid="edit-panel"]`)).ToBeVisible())
		shot("panel")
		goTo(t, page, base, "/forecast")
		must(t, page.Locator(`#health[data-loaded="true"]`).WaitFor())
		shot("forecast")
		goTo(t, page, base, "/forecast/board")
		shot("forecast-board")
	}
}
