package handlers_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFavicon: every page links the favicon, and it is served as an SVG image from the binary.
func TestFavicon(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		const link = `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`
		c := s.client()
		for _, page := range []string{"/board", "/forecast"} {
			if status, body := c.get(page); status != 200 || !strings.Contains(body, link) {
				t.Fatalf("%s: %d, no favicon link", page, status)
			}
		}
		login, err := http.Get(s.URL + "/login") // logged out
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(login.Body)
		login.Body.Close()
		if login.StatusCode != 200 || !strings.Contains(string(page), link) {
			t.Fatalf("/login: %d, no favicon link", login.StatusCode)
		}
		resp, err := http.Get(s.URL + "/static/favicon.svg")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(body), "<svg") {
			t.Fatalf("favicon: %d %q %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}
