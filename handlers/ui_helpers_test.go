package handlers_test

import (
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/playwright-community/playwright-go"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/authtest"
	"phaseboard/web/browsertest"
)

// Helpers of the browser tests of the screens (board, panels, forecast, admin) at both sizes.

// serve starts Phaseboard on s and returns its base URL.
func serve(t testing.TB, s *models.Store) string {
	t.Helper()
	app := web.New(web.Config{Store: s})
	h := &handlers.Handler{Store: s}
	handlers.Register(app, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { h.StopStreams(); app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// logInAs gives a browser page the session of a new user with role (linked to employee when
// not nil) on the server at base.
func logInAs(t testing.TB, s *models.Store, page playwright.Page, base, role string, employee *uuid.UUID) *models.User {
	t.Helper()
	u, cookie := authtest.Login(t, s, role, employee)
	err := page.Context().AddCookies([]playwright.OptionalCookie{{Name: cookie.Name, Value: cookie.Value, URL: playwright.String(base)}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// expect is Playwright's polling assertions (they retry until the default timeout).
var expect = playwright.NewPlaywrightAssertions(browsertest.DefaultTimeout)

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// goTo opens path and waits for the page to load.
func goTo(t testing.TB, page playwright.Page, base, path string) {
	t.Helper()
	resp, err := page.Goto(base + path)
	must(t, err)
	if resp != nil && resp.Status() >= 400 {
		t.Fatalf("GET %s: %d", path, resp.Status())
	}
}

// noHorizontalOverflow fails when the page lays out wider than its viewport (on a phone the
// user would have to pan sideways, and fixed panels open off-screen).
func noHorizontalOverflow(t testing.TB, page playwright.Page) {
	t.Helper()
	// Against the device's width, not innerWidth: a phone browser zooms out to show a page
	// that is too wide, and innerWidth grows with it.
	w, err := page.Evaluate(`() => document.documentElement.scrollWidth`)
	must(t, err)
	if vp := page.ViewportSize(); toInt(w) > vp.Width {
		t.Fatalf("the page is %v px wide on a %d px screen", w, vp.Width)
	}
}

// fullyInViewport fails unless the element is laid out entirely inside the viewport.
func fullyInViewport(t testing.TB, page playwright.Page, l playwright.Locator, what string) {
	t.Helper()
	must(t, l.WaitFor())
	vp := page.ViewportSize()
	// As Playwright's own expectations do, wait for the page to settle (a swap that replaces the
	// element, a scroll into view) before failing: up to 5 s.
	deadline := time.Now().Add(5 * time.Second)
	for {
		box, err := l.BoundingBox()
		must(t, err)
		if box != nil && box.X >= -0.5 && box.Y >= -0.5 && box.X+box.Width <= float64(vp.Width)+0.5 && box.Y+box.Height <= float64(vp.Height)+0.5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not fully on screen: %+v in %dx%d", what, box, vp.Width, vp.Height)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case int64:
		return int(x)
	}
	return -1
}

func mustUUID(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	must(t, err)
	return id
}
