package web

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestClientIP: behind a trusted proxy the client is the right-most untrusted hop of
// X-Forwarded-For (what the client wrote itself, on the left, is ignored); without one it is the
// connection's address, whatever the header says.
func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		trusted, xff, want string
	}{
		{"", "203.0.113.7", "0.0.0.0"}, // app.Test connects from 0.0.0.0
		{"0.0.0.0", "203.0.113.7", "203.0.113.7"},
		{"0.0.0.0, 10.0.0.0/8", "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"0.0.0.0", "", "0.0.0.0"},
		{"0.0.0.0", "garbage, 203.0.113.8", "203.0.113.8"},
	} {
		trusted, err := ParseTrustedProxies(tc.trusted)
		if err != nil {
			t.Fatal(err)
		}
		app := fiber.New()
		app.Get("/", func(c *fiber.Ctx) error { return c.SendString(clientIP(c, trusted)) })
		req := httptest.NewRequest("GET", "/", nil)
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != tc.want {
			t.Errorf("trusted %q, X-Forwarded-For %q: client %q, want %q", tc.trusted, tc.xff, b, tc.want)
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix parsed")
	}
}
