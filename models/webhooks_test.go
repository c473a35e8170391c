package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// receiver is a real local webhook receiver: it checks each delivery's signature and records
// the changes it took (once per delivery id), failing the first failFirst requests.
type receiver struct {
	t         *testing.T
	srv       *httptest.Server
	secret    string
	mu        sync.Mutex
	failFirst int
	requests  int
	got       map[int64]string // change id → mutation type
	deliverys map[string]bool
	badSigs   int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t, failFirst: failFirst, got: map[int64]string{}, deliverys: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		if r.requests <= r.failFirst {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		if req.Header.Get(models.WebhookSignatureHeader) != models.Sign(body, r.secret) {
			r.badSigs++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg struct {
			WebhookID string `json:"webhookId"`
			Payload   struct {
				Type     string `json:"type"`
				EntityID string `json:"entityId"`
				ChangeID int64  `json:"changeId"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &msg); err != nil || msg.WebhookID == "" || msg.Payload.EntityID == "" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.deliverys[req.Header.Get(models.WebhookDeliveryHeader)] = true
		r.got[msg.Payload.ChangeID] = msg.Payload.Type
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

var loopback = models.WebhookPolicy{AllowedHosts: []string{"127.0.0.1"}}

func runWebhooks(t *testing.T, s *models.Store, cfg models.WebhookConfig) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunWebhooks(ctx, cfg); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWebhookDeliversEveryChange: every committed change of the webhook's type reaches a real
// receiver, signed; a receiver that fails at first gets the backlog once it recovers.
func TestWebhookDeliversEveryChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		rcv := newReceiver(t, 5) // the first five attempts fail: retries with backoff
		w, secret, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: rcv.srv.URL + "/hook",
			Headers: []models.WebhookHeader{{Name: "X-Api-Key", Value: "k"}}}, loopback, models.Actor{Role: models.RoleManager})
		if err != nil {
			t.Fatal(err)
		}
		rcv.secret = secret
		// Changes of the type (and one of another type, which is not delivered).
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := f.create(t, fmt.Sprint("hooked ", i), 10)
				if _, err := s.MoveActivity(ctx, a.ID, f.phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if _, err := s.CreatePipeline(ctx, models.SalesOpportunity.Name, "Not hooked", models.Actor{}); err != nil {
			t.Fatal(err) // a change of another type, not delivered
		}
		runWebhooks(t, s, models.WebhookConfig{Policy: loopback, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
		waitFor(t, "16 deliveries", func() bool { return rcv.count() >= 16 })

		recs, _ := s.Changes(ctx, w.Cursor, 1000)
		want := map[int64]string{}
		for _, r := range recs {
			if r.EntityType == "Activity.SalesOpportunity" {
				want[r.ID] = map[string]string{models.ChangeCreated: "EntityCreationMutation", models.ChangePhaseChanged: "EntityUpdateMutation"}[r.Op]
			}
		}
		rcv.mu.Lock()
		got, badSigs, ids := fmt.Sprint(rcv.got), rcv.badSigs, len(rcv.deliverys)
		rcv.mu.Unlock()
		if len(want) != 16 || fmt.Sprint(want) != got {
			t.Fatalf("delivered %v, want %v", got, want)
		}
		if badSigs != 0 || ids != 16 {
			t.Fatalf("%d bad signatures, %d delivery ids", badSigs, ids)
		}
		// The receiver answers before the sender records the delivery: wait for the log.
		allDelivered := func() bool {
			log, _ := s.Deliveries(ctx, w.ID, 100, models.Actor{})
			for _, d := range log {
				if d.Status != models.DeliveryDelivered {
					return false
				}
			}
			return len(log) == 16
		}
		waitFor(t, "the log to say delivered", allDelivered)
	})
}

// TestWebhookFailingThenRetried: a receiver that never answers 2xx uses up the attempts; the
// webhook is marked failing and nothing more is attempted until an admin retries it, when the
// backlog is delivered.
func TestWebhookFailingThenRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		rcv := newReceiver(t, 1<<30)
		w, secret, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: rcv.srv.URL}, loopback, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		rcv.secret = secret
		f.create(t, "one", 1)
		f.create(t, "two", 2)
		runWebhooks(t, s, models.WebhookConfig{Policy: loopback, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxAttempts: 3})
		waitFor(t, "the webhook to be failing", func() bool {
			got, _ := s.Webhook(ctx, w.ID, models.Actor{})
			return got != nil && got.Failing
		})
		time.Sleep(200 * time.Millisecond)
		rcv.mu.Lock()
		tried := rcv.requests
		rcv.failFirst = 0 // the receiver is back
		rcv.mu.Unlock()
		if tried != 3 {
			t.Fatalf("%d attempts before failing, want 3 (the lane's head only)", tried)
		}
		if err := s.RetryWebhook(ctx, w.ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the backlog", func() bool { return rcv.count() == 2 })
	})
}

func TestWebhookURLsAndRights(t *testing.T) {
	s := storetest.New(t, "sqlite")
	ctx := context.Background()
	in := func(u string) models.WebhookInput {
		return models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: u}
	}
	for _, tc := range []struct {
		url    string
		policy models.WebhookPolicy
		ok     bool
	}{
		{"ftp://example.com/x", models.WebhookPolicy{}, false},
		{"javascript:alert(1)", models.WebhookPolicy{}, false},
		{"https://user:pw@example.com/", models.WebhookPolicy{}, false},
		{"http://127.0.0.1:9/", models.WebhookPolicy{}, false},
		{"http://localhost/", models.WebhookPolicy{}, false},
		{"http://10.0.0.8/", models.WebhookPolicy{}, false},
		{"https://hooks.example.com/in", models.WebhookPolicy{}, true},
		{"https://hooks.example.com/in", models.WebhookPolicy{AllowedHosts: []string{"*.example.org"}}, false},
		{"https://a.example.org/in", models.WebhookPolicy{AllowedHosts: []string{"*.example.org"}}, true},
		{"http://127.0.0.1:9/", loopback, true},
	} {
		_, _, err := s.CreateWebhook(ctx, in(tc.url), tc.policy, models.Actor{})
		if (err == nil) != tc.ok {
			t.Errorf("%s with %v: %v", tc.url, tc.policy, err)
		}
		if e, isField := err.(*models.Error); err != nil && (!isField || e.Field != "webhookUrl") {
			t.Errorf("%s: not a field error: %v", tc.url, err)
		}
	}
	if _, _, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Nonsense", WebhookURL: "https://example.com"}, models.WebhookPolicy{}, models.Actor{}); err == nil {
		t.Error("an unknown entity type was taken")
	}
	if _, _, err := s.CreateWebhook(ctx, models.WebhookInput{EntityType: "Activity.SalesOpportunity", WebhookURL: "https://example.com",
		Headers: []models.WebhookHeader{{Name: "X-Phaseboard-Signature", Value: "forged"}}}, models.WebhookPolicy{}, models.Actor{}); err == nil {
		t.Error("a webhook may not set the signature header")
	}
	if _, _, err := s.CreateWebhook(ctx, in("https://example.com"), models.WebhookPolicy{}, models.Actor{Role: models.RoleRep}); err == nil {
		t.Error("a rep created a webhook")
	}
}
