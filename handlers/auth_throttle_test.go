package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// loginFrom posts the login form from a client at ip, with the anonymous CSRF pair of the login
// page and any other cookies (a device cookie).
func (a *authApp) loginFrom(ip, email, password string, cookies ...*http.Cookie) resp {
	a.t.Helper()
	token, csrf := a.csrf("/login")
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	req.Header.Set("X-Forwarded-For", ip)
	return a.do(req, append(cookies, csrf)...)
}

// TestConcurrentCorrectLogins: several correct logins to one account at once all succeed (an
// attempt in flight is not a failure).
func TestConcurrentCorrectLogins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{LoginLimit: 2})
		u := authtest.User(t, s, models.RoleRep, nil)
		token, csrf := a.csrf("/login")
		base := listen(t, a.app)
		var wg sync.WaitGroup
		statuses := make(chan int, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"email": {u.Email}, "password": {authtest.Password}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-CSRF-Token", token)
				req.AddCookie(csrf)
				res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		for st := range statuses {
			if st != 303 {
				t.Fatalf("a correct login among 8 at once answered %d", st)
			}
		}
	})
}

// TestLoginThrottleSparesTheOwner: failed logins throttle the client that makes them, not the
// account: the owner still logs in from a clean client while one attacker is locked out, and
// from a browser it has used before while many attackers are.
func TestLoginThrottleSparesTheOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{LoginLimit: 3})
		owner := authtest.User(t, s, models.RoleRep, nil)
		bystander := authtest.User(t, s, models.RoleRep, nil)

		// The owner logs in once from its laptop, which then holds the account's device cookie.
		r := a.loginFrom("198.51.100.10", owner.Email, authtest.Password)
		device := r.cookie["phaseboard_device"]
		if r.status != 303 || device == nil || !device.HttpOnly {
			t.Fatalf("first login: %d, device cookie %+v", r.status, device)
		}

		// One attacker: three wrong passwords lock out that client, on that account.
		for i := 0; i < 3; i++ {
			if r := a.loginFrom("203.0.113.1", owner.Email, "guess"+fmt.Sprint(i)); r.status != 401 {
				t.Fatalf("guess %d: %d", i, r.status)
			}
		}
		if r := a.loginFrom("203.0.113.1", owner.Email, authtest.Password); r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("the attacker's client past its limit: %d", r.status)
		}
		if r := a.loginFrom("198.51.100.20", owner.Email, authtest.Password); r.status != 303 {
			t.Fatalf("the owner from a clean client, no device cookie: %d", r.status)
		}

		// Many attackers (one guess each from 27 more addresses: 30 failures, ten clients' worth)
		// lock the account for clients it has never logged in from ...
		for i := 0; i < 27; i++ {
			if r := a.loginFrom(fmt.Sprintf("203.0.113.%d", 100+i), owner.Email, "guess"); r.status != 401 {
				t.Fatalf("distributed guess %d: %d", i, r.status)
			}
		}
		if r := a.loginFrom("192.0.2.50", owner.Email, authtest.Password); r.status != 429 {
			t.Fatalf("a new client during a distributed attack: %d", r.status)
		}
		// ... but not for the owner's own browser, nor for other accounts.
		if r := a.loginFrom("192.0.2.51", owner.Email, authtest.Password, device); r.status != 303 {
			t.Fatalf("the owner's browser with its device cookie: %d", r.status)
		}
		if r := a.loginFrom("192.0.2.50", bystander.Email, authtest.Password); r.status != 303 {
			t.Fatalf("another account: %d", r.status)
		}
		// A device cookie counts only when genuine and of this account.
		forged := &http.Cookie{Name: device.Name, Value: device.Value[:len(device.Value)-2] + "xx"}
		if r := a.loginFrom("192.0.2.52", owner.Email, authtest.Password, forged); r.status != 429 {
			t.Fatalf("a forged device cookie: %d", r.status)
		}
		other := a.loginFrom("192.0.2.53", bystander.Email, authtest.Password).cookie["phaseboard_device"]
		if r := a.loginFrom("192.0.2.53", owner.Email, authtest.Password, other); r.status != 429 {
			t.Fatalf("another account's device cookie: %d", r.status)
		}
	})
}
