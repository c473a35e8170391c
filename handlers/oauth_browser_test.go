package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/browsertest"
)

// callbackServer is the integration's side of the redirect: it answers a small page and keeps
// nothing; the test reads the code from the browser's URL.
func callbackServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><title>callback</title><p data-testid="callback">back at the integration</p>`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/callback"
}

// httpToken posts a token request to a running server as the client (HTTP Basic).
func httpToken(t *testing.T, base, clientID, secret string, v url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/oauth2/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func httpAPI(t *testing.T, base, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/odata/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestBrowserAuthorizationCodeFlow: an integration sends a logged-out rep to /oauth2/auth; the
// rep logs in, reads the consent page and allows; the browser lands on the integration's
// redirect URI with the code and state, which the integration exchanges (PKCE) and refreshes
// over HTTP. An admin registered the client on the admin page and revokes the grant there. A
// second run denies: the integration gets access_denied.
func TestBrowserAuthorizationCodeFlow(t *testing.T) {
	for _, dialect := range []string{migrations.SQLite, migrations.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.New(t, dialect)
			if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
				t.Fatal(err)
			}
			reps, _ := s.Employees(ctx)
			rep := authtest.User(t, s, models.RoleRep, &reps[0].ID)
			callback := callbackServer(t)
			base := serve(t, s)

			// An admin registers the client with its redirect URI on the admin page.
			admin := browsertest.NewPage(t)
			logInAs(t, s, admin, base, models.RoleAdmin, nil)
			goTo(t, admin, base, "/admin/clients")
			form := admin.GetByTestId("add-client")
			must(t, form.Locator(`input[name="name"]`).Fill("Workflow nodes"))
			must(t, form.GetByTestId("client-redirect-uris").Fill(callback))
			must(t, form.Locator(`button[type="submit"]`).Click())
			must(t, expect.Locator(admin.GetByTestId("client-secret")).ToBeVisible())
			clientID, err := admin.GetByTestId("client-id").TextContent()
			must(t, err)
			secret, err := admin.GetByTestId("client-secret").TextContent()
			must(t, err)
			client := &models.APIClient{}
			if client.ID, err = uuid.Parse(clientID); err != nil {
				t.Fatal(err)
			}

			verifier := strings.Repeat("0123456789", 5)
			sum := sha256.Sum256([]byte(verifier))
			q := url.Values{"response_type": {"code"}, "client_id": {client.ID.String()}, "redirect_uri": {callback},
				"scope": {"read offline"}, "state": {"browser-state-42"},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}

			page := browsertest.NewPage(t)
			goTo(t, page, base, "/oauth2/auth?"+q.Encode())
			if !strings.Contains(page.URL(), "/login") {
				t.Fatalf("a logged-out consent lands on %s", page.URL())
			}
			must(t, page.GetByTestId("login-email").Fill(rep.Email))
			must(t, page.GetByTestId("login-password").Fill(authtest.Password))
			must(t, page.GetByTestId("login-submit").Click())
			must(t, expect.Locator(page.GetByTestId("consent")).ToContainText("Workflow nodes"))
			must(t, expect.Locator(page.GetByTestId("consent-user")).ToHaveText(rep.Email))
			must(t, expect.Locator(page.GetByTestId("consent-scopes")).ToContainText("offline"))
			must(t, page.GetByTestId("consent-allow").Click())
			must(t, expect.Locator(page.GetByTestId("callback")).ToBeVisible())
			back, err := url.Parse(page.URL())
			if err != nil || !strings.HasPrefix(page.URL(), callback+"?") || back.Query().Get("state") != "browser-state-42" || back.Query().Get("code") == "" {
				t.Fatalf("the browser came back to %s", page.URL())
			}
			code := back.Query().Get("code")

			exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier}}
			status, tokens := httpToken(t, base, client.ID.String(), secret, exchange)
			if status != 200 || tokens["refresh_token"] == nil {
				t.Fatalf("exchange: %d %v", status, tokens)
			}
			if got := httpAPI(t, base, tokens["access_token"].(string), "Activity_SalesOpportunity/$count"); got != 200 {
				t.Fatalf("API with the user's token: %d", got)
			}
			status, refreshed := httpToken(t, base, client.ID.String(), secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}})
			if status != 200 || refreshed["refresh_token"] == tokens["refresh_token"] {
				t.Fatalf("refresh: %d %v", status, refreshed)
			}

			// The admin sees the rep's grant and revokes it: the client's tokens for the rep stop.
			goTo(t, admin, base, "/admin/clients/"+client.ID.String())
			row := admin.GetByTestId("grant-row")
			must(t, expect.Locator(row).ToHaveCount(1))
			must(t, expect.Locator(row).ToContainText(rep.Email))
			must(t, expect.Locator(row).ToContainText("read offline"))
			must(t, row.GetByTestId("revoke-grant").Click())
			must(t, expect.Locator(admin.GetByTestId("grant-row")).ToContainText("Revoked"))
			if got := httpAPI(t, base, refreshed["access_token"].(string), "Activity_SalesOpportunity/$count"); got != 401 {
				t.Fatalf("API with a revoked grant's token: %d", got)
			}
			if status, body := httpToken(t, base, client.ID.String(), secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed["refresh_token"].(string)}}); status != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("refresh after revocation: %d %v", status, body)
			}
			// The code a second time (it would also revoke the grant, were it not revoked).
			if status, body := httpToken(t, base, client.ID.String(), secret, exchange); status != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("the code a second time: %d %v", status, body)
			}
			// A redirect URI the flow refuses is refused on the page, the list kept as typed.
			must(t, admin.GetByTestId("redirect-uris").Fill(callback+"\nhttp://elsewhere.example/cb"))
			must(t, admin.GetByTestId("redirect-uris-form").Locator("button").Click())
			must(t, expect.Locator(admin.GetByRole("alert")).ToContainText("https"))
			must(t, expect.Locator(admin.GetByTestId("redirect-uris")).ToHaveValue(callback+"\nhttp://elsewhere.example/cb"))

			// Logged in now: the consent page comes at once; Deny sends access_denied back.
			goTo(t, page, base, "/oauth2/auth?"+q.Encode())
			must(t, page.GetByTestId("consent-deny").Click())
			must(t, expect.Locator(page.GetByTestId("callback")).ToBeVisible())
			denied, _ := url.Parse(page.URL())
			if denied.Query().Get("error") != "access_denied" || denied.Query().Get("state") != "browser-state-42" || denied.Query().Get("code") != "" {
				t.Fatalf("deny came back as %s", page.URL())
			}
		})
	}
}
