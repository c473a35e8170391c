package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/web/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

const clickPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>browsertest</title></head>
<body>
<p data-testid="status">waiting</p>
<button type="button" onclick="document.querySelector('[data-testid=status]').textContent = 'clicked'">Click me</button>
</body></html>`

// TestClickChangesText proves the driver and Chromium work: it serves a page,
// clicks its button and checks that the page's script changed the text.
func TestClickChangesText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(clickPage))
	}))
	defer srv.Close()

	page := browsertest.NewPage(t)
	if _, err := page.Goto(srv.URL); err != nil {
		t.Fatalf("goto: %v", err)
	}
	status := page.GetByTestId("status")
	if err := playwright.NewPlaywrightAssertions().Locator(status).ToHaveText("waiting"); err != nil {
		t.Fatal(err)
	}
	if err := page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Click me"}).Click(); err != nil {
		t.Fatalf("click: %v", err)
	}
	got, err := status.TextContent()
	if err != nil {
		t.Fatal(err)
	}
	if got != "clicked" {
		t.Fatalf("status text = %q after the click, want %q", got, "clicked")
	}
}
