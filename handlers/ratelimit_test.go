package handlers_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// listen serves app on a free local port until the test ends and returns its base URL.
func listen(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// TestAPIRateLimitSharedAcrossInstances: two instances on one database share one client's
// limit exactly (200 concurrent calls at 50 a minute: 50 pass, whichever instance they reach).
func TestAPIRateLimitSharedAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// One fixed-window minute for all 200 calls: with the clock running, a run that crossed a
		// minute boundary counted two windows (flaky: 71 passed once).
		now := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
		s.Now = func() time.Time { return now }
		a := newAuthApp(t, s, handlers.Handler{APIRateLimit: 50})
		other := storetest.Reopen(t, s)
		other.Now = s.Now
		b := web.New(web.Config{Store: other})
		handlers.Register(b, &handlers.Handler{Store: other, APIRateLimit: 50})
		urls := []string{listen(t, a.app), listen(t, b)}
		tok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)

		var ok, limited, other5xx atomic.Int64
		var wg sync.WaitGroup
		calls := make(chan int, 200)
		for i := 0; i < 200; i++ {
			calls <- i
		}
		close(calls)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range calls {
					req, _ := http.NewRequest("GET", urls[i%2]+"/v1/odata/Pipeline?$top=1&$select=Name", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					switch res.StatusCode {
					case 200:
						ok.Add(1)
					case 429:
						limited.Add(1)
						if res.Header.Get("Retry-After") == "" {
							t.Error("429 without Retry-After")
						}
					default:
						other5xx.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 50 || limited.Load() != 150 || other5xx.Load() != 0 {
			t.Fatalf("200 calls at 50/min over two instances: %d passed, %d limited, %d other", ok.Load(), limited.Load(), other5xx.Load())
		}
	})
}

// TestAPIRateLimitFailsClosed: when the counter cannot be counted the API answers 503 with
// Retry-After, never an uncounted 200. An instance hands out the share of the quota it took
// from the counter before (models.Store.Take): those requests were counted when it took it;
// the first request past the share finds the counter gone and is refused, and so is every one
// after it.
func TestAPIRateLimitFailsClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		tok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		call := func() resp {
			r := httptest.NewRequest("GET", "/v1/odata/Pipeline?$top=1", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return a.do(r)
		}
		first := call()
		if first.status != 200 || first.header.Get("X-RateLimit-Limit") != "1000" || first.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("before: %d %v", first.status, first.header)
		}
		var counted int
		if err := s.DB.Raw("SELECT hits FROM rate_counters").Scan(&counted).Error; err != nil || counted < 1 {
			t.Fatalf("the first request took no share: %d %v", counted, err)
		}
		if err := s.DB.Exec("DROP TABLE rate_counters").Error; err != nil {
			t.Fatal(err)
		}
		served := 1
		for {
			r := call()
			if r.status == 200 {
				if served++; served > counted {
					t.Fatalf("%d requests served on a share of %d with the counter gone", served, counted)
				}
				continue
			}
			if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, `"ServiceUnavailable"`) {
				t.Fatalf("uncountable limit: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
			}
			break
		}
		if served != counted {
			t.Fatalf("served %d of a share of %d before refusing", served, counted)
		}
		for i := 0; i < 3; i++ {
			if r := call(); r.status != 503 {
				t.Fatalf("after the share: %d", r.status)
			}
		}
	})
}

// TestTokenEndpointRateLimit: token requests are limited per client id and per IP; the limit
// holds for wrong secrets too (it is what slows guessing down).
func TestTokenEndpointRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{TokenLimit: 3})
		ctx := t.Context()
		c1, secret1, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "one", Scopes: []string{"read"}}, models.Actor{})
		c2, secret2, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "two", Scopes: []string{"read"}}, models.Actor{})
		token := func(id, secret, ip string) resp {
			req := tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, "", "")
			req.Header.Set("X-Forwarded-For", ip)
			return a.do(req)
		}
		for i := 0; i < 3; i++ {
			if r := token(c1.ID.String(), "wrong", "192.0.2.1"); r.status != 401 {
				t.Fatalf("guess %d: %d %s", i, r.status, r.body)
			}
		}
		r := token(c1.ID.String(), secret1, "192.0.2.1")
		if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "temporarily_unavailable") {
			t.Fatalf("past the client's limit: %d %s", r.status, r.body)
		}
		// Per client id: the same id from another address is limited too; another client is not.
		if r := token(c1.ID.String(), secret1, "192.0.2.2"); r.status != 429 {
			t.Fatalf("the client id's limit from another IP: %d", r.status)
		}
		if r := token(c2.ID.String(), secret2, "192.0.2.1"); r.status != 200 {
			t.Fatalf("another client from the same IP: %d %s", r.status, r.body)
		}
		// Per IP: many client ids from one address (nine requests is its budget).
		for i := 0; i < 9; i++ {
			token(uuid.NewString(), "guess", "192.0.2.9")
		}
		if r := token(c2.ID.String(), secret2, "192.0.2.9"); r.status != 429 {
			t.Fatalf("past the IP's limit: %d", r.status)
		}
	})
}

// TestAuthenticatedPagesAreNotCached: a logged-in page (and an API answer) says no-store.
func TestAuthenticatedPagesAreNotCached(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		_, sess := authtest.Login(t, s, models.RoleAdmin, nil)
		for _, path := range []string{"/board", "/forecast", "/admin/users", "/v1/odata/Pipeline?$top=1"} {
			r := a.get(path, sess)
			if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d Cache-Control %q", path, r.status, r.header.Get("Cache-Control"))
			}
		}
	})
}
