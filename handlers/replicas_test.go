package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// TestReplicaReadYourWrites: two instances on one primary with a real streaming replica, whose
// replay is paused so that what it serves is recognisably old. A browser's move on one instance
// is visible to its author at once on the other (the wrote cookie sends its reads to the
// primary), and an API client's GET after its PATCH, on the other instance, reads the write
// (its rate counter says it wrote); a principal that has not written reads from the replica,
// which still shows the past. The writes are on the primary.
func TestReplicaReadYourWrites(t *testing.T) {
	primary := storetest.NewCluster(t)
	replica := storetest.NewReplica(t, primary)
	s1 := storetest.NewOn(t, primary.URL)
	ctx := context.Background()
	if err := s1.LoadDemo(ctx, 10, nil, nil); err != nil {
		t.Fatal(err)
	}
	s2 := storetest.Reopen(t, s1)
	replicaURL := replica.On(storetest.URLOf(t, s1))
	instance := func(s *models.Store) *authApp {
		if err := s.UseReplicas(models.ReplicaConfig{URLs: []string{replicaURL}, MaxLag: time.Hour, ReadYourWrites: 2 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		app := web.New(web.Config{Store: s})
		handlers.Register(app, &handlers.Handler{Store: s})
		return &authApp{t: t, store: s, app: app}
	}
	a, b := instance(s1), instance(s2)
	card := newCard(t, s1, "before")
	_, phases := fixture(t, s1)
	_, sess := authtest.Login(t, s1, models.RoleManager, nil)
	writer, _ := authtest.Token(t, s1, models.RoleManager, "read write", nil)
	reader, _ := authtest.Token(t, s1, models.RoleManager, "read", nil)
	csrf, _ := a.csrf("/board", sess)
	replica.WaitReplayed()
	replica.PauseReplay()
	defer replica.ResumeReplay()

	type entity struct {
		Subject string
		Phase   struct{ Name string }
	}
	read := func(inst *authApp, credentials func(*http.Request)) entity {
		t.Helper()
		req := httptest.NewRequest("GET", "/v1/odata/Activity_SalesOpportunity("+card.ID.String()+")?$select=Subject&$expand=Phase($select=Name)", nil)
		credentials(req)
		r := inst.do(req)
		var e entity
		if r.status != 200 || json.Unmarshal([]byte(r.body), &e) != nil {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
		return e
	}
	bearer := func(token string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	}
	cookies := func(cs ...*http.Cookie) func(*http.Request) {
		return func(r *http.Request) {
			for _, c := range cs {
				r.AddCookie(c)
			}
		}
	}

	// A browser moves the card on instance a and reads it on instance b.
	req := httptest.NewRequest("POST", "/board/opportunities/"+card.ID.String()+"/move",
		strings.NewReader(url.Values{"phase_id": {phases["Proposal"].ID.String()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", csrf)
	moved := a.do(req, sess)
	wrote := moved.cookie["phaseboard_wrote"]
	if moved.status != 200 || wrote == nil {
		t.Fatalf("move: %d, wrote cookie %v: %s", moved.status, wrote, moved.body)
	}
	if got := read(b, cookies(sess, wrote)); got.Phase.Name != "Proposal" {
		t.Fatalf("the mover reads phase %q on the other instance, want Proposal (its own write)", got.Phase.Name)
	}
	if got := read(b, bearer(reader)); got.Phase.Name == "Proposal" {
		t.Fatalf("a client that has not written reads phase %q: not from the paused replica", got.Phase.Name)
	}

	// An API client writes on a and reads on b.
	patch := httptest.NewRequest("PATCH", "/v1/odata/Activity_SalesOpportunity("+card.ID.String()+")", strings.NewReader(`{"Subject": "after"}`))
	patch.Header.Set("Content-Type", "application/json")
	patch.Header.Set("Authorization", "Bearer "+writer)
	if r := a.do(patch); r.status != 204 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if got := read(b, bearer(writer)); got.Subject != "after" || got.Phase.Name != "Proposal" {
		t.Fatalf("the writer reads %+v on the other instance, want its own writes", got)
	}
	if got := read(b, bearer(reader)); got.Subject != "before" {
		t.Fatalf("another client reads %+v, want the replica's past", got)
	}
	// The forecast's report transaction runs on the replica.
	if r := b.get("/forecast", sess); r.status != 200 {
		t.Fatalf("forecast from the replica: %d %s", r.status, r.body)
	}

	// Both writes are on the primary, and reach the replica once it replays again.
	if got, err := s1.Activity(ctx, card.ID); err != nil || got.Subject != "after" || got.PhaseID != phases["Proposal"].ID {
		t.Fatalf("on the primary: %+v %v", got, err)
	}
	replica.ResumeReplay()
	replica.WaitReplayed()
	if got := read(b, bearer(reader)); got.Subject != "after" || got.Phase.Name != "Proposal" {
		t.Fatalf("after the replica caught up, another client reads %+v", got)
	}
}
