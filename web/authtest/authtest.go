// Package authtest logs test users and API clients in without going through the login form:
// it creates the user (or client) directly in the store and hands back what a browser (or an
// integration) would hold.
//
//	u, cookie := authtest.Login(t, store, models.RoleRep, &employeeID)
//	jar.SetCookies(baseURL, []*http.Cookie{cookie})      // net/http client
//	req.AddCookie(cookie)                                // app.Test
//	ctx.AddCookies(authtest.PlaywrightCookie(...))       // see the browser tests
package authtest

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
)

// Password is the password of every user Login creates.
const Password = "test-password-123"

// Login creates an active user with role (linked to employeeID when not nil) and a unique
// email, starts a session for it and returns the user and the session cookie.
func Login(t testing.TB, s *models.Store, role string, employeeID *uuid.UUID) (*models.User, *http.Cookie) {
	t.Helper()
	u := User(t, s, role, employeeID)
	return u, Cookie(t, s, u)
}

// User creates an active user with role and a unique email; its password is Password.
func User(t testing.TB, s *models.Store, role string, employeeID *uuid.UUID) *models.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), models.NewUser{
		Email: role + "-" + uuid.NewString()[:8] + "@test.example", Password: Password, Role: role, EmployeeID: employeeID,
	}, models.Actor{})
	if err != nil {
		t.Fatalf("authtest: create user: %v", err)
	}
	return u
}

// Cookie starts a session for u and returns its cookie.
func Cookie(t testing.TB, s *models.Store, u *models.User) *http.Cookie {
	t.Helper()
	token, _, err := s.CreateSession(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("authtest: session: %v", err)
	}
	return &http.Cookie{Name: web.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// Token creates an API client (role, scopes such as "read write", acting as employeeID) and
// returns a fresh access token for it, with the client.
func Token(t testing.TB, s *models.Store, role, scopes string, employeeID *uuid.UUID) (string, *models.APIClient) {
	t.Helper()
	sc, err := models.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := s.CreateAPIClient(context.Background(), models.NewAPIClient{Name: "test client", Scopes: sc, Role: role, EmployeeID: employeeID}, models.Actor{})
	if err != nil {
		t.Fatalf("authtest: client: %v", err)
	}
	tok, _, err := s.IssueToken(context.Background(), c, "")
	if err != nil {
		t.Fatalf("authtest: token: %v", err)
	}
	return tok, c
}
