package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/servertest"
)

func apiCall(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebhookAPI: Tribe's management API and the read-only OData set, on both databases.
func TestWebhookAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newServer(t, dialect, 0)
			s.h.WebhookPolicy = models.WebhookPolicy{}
			token, _ := authtest.Token(t, s.store, models.RoleManager, "read,write", nil)
			repToken, _ := authtest.Token(t, s.store, models.RoleRep, "read,write", nil)

			code, body := apiCall(t, s.URL, token, "POST", "/v1/webhooks",
				`{"entityType": "Activity.SalesOpportunity", "webhookUrl": "https://hooks.example.com/in", "headers": [{"name": "X-Api-Key", "value": "k3y"}]}`)
			if code != 201 {
				t.Fatalf("create: %d %s", code, body)
			}
			var created struct{ ID, Secret, EntityType, WebhookURL string }
			json.Unmarshal([]byte(body), &created)
			if created.Secret == "" || created.EntityType != "Activity.SalesOpportunity" || created.WebhookURL != "https://hooks.example.com/in" {
				t.Fatalf("created %s", body)
			}
			// The secret and header values are shown once.
			code, body = apiCall(t, s.URL, token, "GET", "/v1/webhooks", "")
			if code != 200 || !strings.Contains(body, created.ID) || strings.Contains(body, created.Secret) || strings.Contains(body, "k3y") {
				t.Fatalf("list: %d %s", code, body)
			}
			code, body = apiCall(t, s.URL, token, "GET", "/v1/odata/Webhook", "")
			if code != 200 || !strings.Contains(body, created.ID) || strings.Contains(body, created.Secret) {
				t.Fatalf("OData Webhook: %d %s", code, body)
			}
			if code, body = apiCall(t, s.URL, repToken, "GET", "/v1/odata/Webhook", ""); code != 200 || strings.Contains(body, created.ID) {
				t.Fatalf("a rep reads webhooks: %d %s", code, body)
			}
			for _, bad := range []struct {
				body string
				code int
			}{
				{`{"entityType": "Activity.SalesOpportunity", "webhookUrl": "ftp://example.com/"}`, 400},
				{`{"entityType": "Activity.SalesOpportunity", "webhookUrl": "http://127.0.0.1:8080/"}`, 400},
				{`{"entityType": "Nope", "webhookUrl": "https://example.com/"}`, 400},
				{`{"entityType": "Activity.SalesOpportunity", "webhookUrl": "https://example.com/", "extra": 1}`, 400},
				{`not json`, 400},
			} {
				if code, body := apiCall(t, s.URL, token, "POST", "/v1/webhooks", bad.body); code != bad.code || !strings.Contains(body, `"error"`) {
					t.Errorf("%s: %d %s", bad.body, code, body)
				}
			}
			if code, _ := apiCall(t, s.URL, repToken, "POST", "/v1/webhooks", `{"entityType": "Activity.SalesOpportunity", "webhookUrl": "https://example.com/"}`); code != 403 {
				t.Errorf("a rep created a webhook: %d", code)
			}
			hooks, _ := s.store.Webhooks(context.Background(), models.Actor{})
			if len(hooks) != 1 {
				t.Fatalf("refused requests wrote: %d webhooks", len(hooks))
			}
			if code, body := apiCall(t, s.URL, token, "DELETE", "/v1/webhooks/"+created.ID, ""); code != 204 {
				t.Fatalf("delete: %d %s", code, body)
			}
			if code, _ := apiCall(t, s.URL, token, "DELETE", "/v1/webhooks/"+created.ID, ""); code != 404 {
				t.Fatalf("delete again: %d", code)
			}
		})
	}
}

// TestWebhookSurvivesKill9: the built binary delivers to a slow local receiver and is killed
// (kill -9) mid-delivery, then started again: every committed change is delivered, none lost.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the built binary on PostgreSQL")
	}
	bin := servertest.Build(t)
	s := storetest.New(t, migrations.Postgres)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var secret string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(100 * time.Millisecond) // slow: the kill lands while deliveries are in flight
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get(models.WebhookSignatureHeader) != models.Sign(body, secret) {
			http.Error(w, "bad signature", 401)
			return
		}
		var msg struct{ Payload struct{ ChangeID int64 } }
		json.Unmarshal(body, &msg)
		got[msg.Payload.ChangeID]++
	}))
	defer rcv.Close()
	w, sec, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: rcv.URL}, loopbackPolicy, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	secret = sec
	_, phases := fixture(t, s)
	for i := 0; i < 20; i++ {
		a := newCard(t, s, fmt.Sprint("kill ", i))
		if _, err := s.MoveActivity(ctx, a.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	env := []string{"DATABASE_URL=" + storetest.URLOf(t, s), "PHASEBOARD_HOST=127.0.0.1", "PHASEBOARD_WEBHOOK_ALLOWED_HOSTS=127.0.0.1",
		"PHASEBOARD_WEBHOOK_TIMEOUT=1s", "PHASEBOARD_WEBHOOK_RETRY_BASE=50ms"}
	p := servertest.Start(t, bin, env, "serve", "--port", "0")
	p.WaitListening()
	waitUntil(t, "the first deliveries", func() bool { return delivered() >= 5 })
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
	before := delivered()
	if before >= 40 {
		t.Fatalf("all %d delivered before the kill: the test proves nothing", before)
	}
	again := servertest.Start(t, bin, env, "serve", "--port", "0")
	again.WaitListening()
	waitUntil(t, "every change", func() bool { return delivered() == 40 })
	recs, _ := s.Changes(ctx, w.Cursor, 1000)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range recs {
		if r.EntityType == "Activity.SalesOpportunity" && got[r.ID] == 0 {
			t.Errorf("change %v never delivered", r)
		}
	}
	t.Logf("%d delivered before kill -9, all 40 after the restart", before)
}

var loopbackPolicy = models.WebhookPolicy{AllowedHosts: []string{"127.0.0.1"}}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestAdminWebhooks: an admin adds a webhook in the browser (CSRF-checked form), sees its secret
// once, opens its delivery log, retries and deletes it; a form without the token writes nothing.
func TestAdminWebhooks(t *testing.T) {
	s := newServer(t, "sqlite", 0)
	_, admin := authtest.Login(t, s.store, models.RoleAdmin, nil)
	c := s.client()
	c.useSession(admin)
	if code, body := c.get("/admin/webhooks"); code != 200 || !strings.Contains(body, `data-testid="add-webhook"`) {
		t.Fatalf("page: %d", code)
	}
	form := url.Values{"entity_type": {"Activity.SalesOpportunity"}, "webhook_url": {"https://hooks.example.com/x"}, "headers": {"X-Api-Key: k"}}
	noToken := url.Values{"entity_type": form["entity_type"], "webhook_url": form["webhook_url"], "_csrf": {"forged"}}
	if resp, _ := c.post("/admin/webhooks", noToken, false); resp.StatusCode != 403 {
		t.Fatalf("a forged form: %d", resp.StatusCode)
	}
	if hooks, _ := s.store.Webhooks(context.Background(), models.Actor{}); len(hooks) != 0 {
		t.Fatal("a forged form wrote")
	}
	resp, body := c.post("/admin/webhooks", form, false)
	secret := cutBetween(body, `data-testid="webhook-secret">`, "<")
	if resp.StatusCode != 201 || secret == "" {
		t.Fatalf("add: %d %s", resp.StatusCode, body)
	}
	if _, body := c.get("/admin/webhooks"); strings.Contains(body, secret) || !strings.Contains(body, "hooks.example.com") {
		t.Fatal("the secret is shown again, or the webhook is not listed")
	}
	bad := url.Values{"entity_type": {"Activity.SalesOpportunity"}, "webhook_url": {"ftp://x"}, "headers": {""}}
	if resp, body := c.post("/admin/webhooks", bad, false); resp.StatusCode != 400 || !strings.Contains(body, "http or https") || !strings.Contains(body, "ftp://x") {
		t.Fatalf("refused add: %d", resp.StatusCode)
	}
	hooks, _ := s.store.Webhooks(context.Background(), models.Actor{})
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	id := hooks[0].ID.String()
	if code, body := c.get("/admin/webhooks/" + id); code != 200 || !strings.Contains(body, `data-testid="deliveries"`) {
		t.Fatalf("log: %d", code)
	}
	if resp, _ := c.post("/admin/webhooks/"+id+"/retry", url.Values{}, false); resp.StatusCode != 303 {
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/admin/webhooks/"+id+"/delete", url.Values{}, false); resp.StatusCode != 303 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if hooks, _ := s.store.Webhooks(context.Background(), models.Actor{}); len(hooks) != 0 {
		t.Fatal("not deleted")
	}
}
