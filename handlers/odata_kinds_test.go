package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// kindPhases returns the phases of the demo's first pipeline of a kind, in order.
func kindPhases(t *testing.T, s *models.Store, kind string) []models.Phase {
	t.Helper()
	var p models.Pipeline
	if err := s.DB.Where("activity_type = ?", models.KindByName(kind).Type).Order("sort_index").Take(&p).Error; err != nil {
		t.Fatal(err)
	}
	phases, err := s.Phases(context.Background(), p.ID)
	if err != nil || len(phases) < 3 {
		t.Fatal("phases", phases, err)
	}
	return phases
}

// Every kind is served by its own set with the same API: create, read, a phase change by the
// seeds' POST-with-ID form, PATCH, ImportId upsert, ETag, DELETE (issue 9), and Activity_Call
// (issue 11), on both databases.
func TestODataEveryKindReadsAndWrites(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			for _, kind := range []string{"Invoice", "SupportTicket", "SalesOpportunity", "Call"} { // Call: live Tribe's 16th kind (issue 11)
				k := models.KindByName(kind)
				set := "Activity_" + kind
				phases := kindPhases(t, e.srv.store, kind)
				last := phases[len(phases)-1] // Paid, Solved, Lost: terminal
				if !last.IsTerminal {
					t.Fatalf("%s: last phase %s is not terminal", kind, last.Name)
				}

				r := e.do("POST", set, `{"Subject":"First `+kind+`","Amount":250,"ImportId":"erp-`+kind+`-1"}`)
				if r.status != 201 || r.entity["_Type"] != k.Type || r.entity["Amount"] != 250.0 ||
					!strings.HasSuffix(r.entity["Number"].(string), "-00001") || r.header.Get("ETag") != `W/"1"` {
					t.Fatalf("%s create: %d %s", kind, r.status, r.body)
				}
				id := r.entity["ID"].(string)
				if r := e.do("GET", set+"("+id+")?$expand=Phase($select=Name)&$select=Subject", ""); r.status != 200 ||
					!strings.Contains(r.body, `"Phase":{"Name":"`+phases[0].Name+`"}`) {
					t.Fatalf("%s read: %d %s", kind, r.status, r.body)
				}

				// The seeds' phase change: POST to the set with the ID and the new phase.
				r = e.do("POST", set, fmt.Sprintf(`{"ID":%q,"Phase":{"ID":%q}}`, id, last.ID))
				if r.status != 200 || r.entity["IsClosed"] != true {
					t.Fatalf("%s phase change: %d %s", kind, r.status, r.body)
				}
				if r := e.do("GET", set+"("+id+")/Phase/$ref", ""); !strings.Contains(r.body, last.ID.String()) {
					t.Fatalf("%s phase after the change: %s", kind, r.body)
				}

				// PATCH with a stale ETag is refused, with the current one applied.
				if r := e.do("PATCH", set+"("+id+")", `{"Subject":"stale"}`, "If-Match", `W/"1"`); r.status != 412 {
					t.Fatalf("%s stale PATCH: %d %s", kind, r.status, r.body)
				}
				if r := e.do("PATCH", set+"("+id+")", `{"Subject":"Renamed"}`, "If-Match", `W/"2"`); r.status != 204 || r.header.Get("ETag") != `W/"3"` {
					t.Fatalf("%s PATCH: %d %v %s", kind, r.status, r.header, r.body)
				}

				// A second POST with the ImportId updates the first, per kind.
				r = e.do("POST", set, `{"Subject":"Imported again","ImportId":"erp-`+kind+`-1"}`)
				if r.status != 200 || r.entity["ID"] != id || r.entity["Subject"] != "Imported again" {
					t.Fatalf("%s ImportId upsert: %d %s", kind, r.status, r.body)
				}
				// A phase of another kind is refused and writes nothing.
				other := kindPhases(t, e.srv.store, map[string]string{"Invoice": "SupportTicket", "SupportTicket": "Invoice", "SalesOpportunity": "Invoice", "Call": "Invoice"}[kind])
				if r := e.do("PATCH", set+"("+id+")", fmt.Sprintf(`{"Subject":"x","Phase@odata.bind":"Datastore_Phase(%s)"}`, other[0].ID)); r.status != 400 ||
					!strings.Contains(r.body, `"target":"Phase"`) {
					t.Fatalf("%s phase of another kind: %d %s", kind, r.status, r.body)
				}
				// So is a create given only such a phase: the refusal names the Phase it sent.
				if r := e.do("POST", set, fmt.Sprintf(`{"Subject":"Wrong phase","Phase@odata.bind":"Datastore_Phase(%s)"}`, other[0].ID)); r.status != 400 ||
					!strings.Contains(r.body, `"target":"Phase"`) {
					t.Fatalf("%s created in a phase of another kind: %d %s", kind, r.status, r.body)
				}
				// The base set lists every kind and is read-only.
				if r := e.do("GET", "Activity("+id+")?$select=_Type,Subject", ""); r.status != 200 || !strings.Contains(r.body, `"_Type":"`+k.Type+`","Subject":"Imported again"`) {
					t.Fatalf("%s through Activity: %d %s", kind, r.status, r.body)
				}
				if r := e.do("DELETE", set+"("+id+")", ""); r.status != 204 {
					t.Fatalf("%s DELETE: %d %s", kind, r.status, r.body)
				}
				if r := e.do("GET", set+"("+id+")", ""); r.status != 404 {
					t.Fatalf("%s after DELETE: %d", kind, r.status)
				}
			}
			if r := e.do("POST", "Activity", `{"Subject":"which kind?"}`); r.status != 405 {
				t.Fatalf("POST to the base set: %d %s", r.status, r.body)
			}
		})
	}
}

// A sales field sent to another kind is a 400 naming the field, and nothing of the request is
// written (issue 9).
func TestODataSalesFieldRefusedForOtherKinds(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			r := e.do("POST", "Activity_Invoice", `{"Subject":"Invoice"}`)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			id := r.entity["ID"].(string)
			for _, body := range []string{`{"Subject":"changed","Probability":50}`, `{"Subject":"changed","LostReason":null}`, `{"Subject":"changed","ExpectedOrderDate":"2026-05-01"}`} {
				r := e.do("PATCH", "Activity_Invoice("+id+")", body)
				if r.status != 400 || !strings.Contains(r.body, "of Activity.SalesOpportunity, not of Activity.Invoice") {
					t.Errorf("%s: %d %s", body, r.status, r.body)
				}
			}
			if r := e.do("POST", "Activity_Invoice", `{"Subject":"new","Probability":50}`); r.status != 400 || !strings.Contains(r.body, `"target":"Probability"`) {
				t.Errorf("create with Probability: %d %s", r.status, r.body)
			}
			var n int64
			e.srv.store.DB.Model(&models.Activity{}).Where("type = ?", "Activity.Invoice").Count(&n)
			if r := e.do("GET", "Activity_Invoice("+id+")?$select=Subject", ""); r.entity["Subject"] != "Invoice" || n != 1 {
				t.Fatalf("a refused request wrote: %s, %d invoices", r.body, n)
			}
		})
	}
}

// A refused admin change through the API writes none of its parts (issue 8): a phase that still
// holds cards cannot be archived, and its new name and probability are not kept either.
func TestODataRefusedPhaseChangeWritesNothing(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			admin, _ := authtest.Token(t, e.srv.store, models.RoleAdmin, "read write", nil)
			qual := e.phases["Qualification"]
			newCard(t, e.srv.store, "keeps the phase busy")
			e.token = admin
			r := e.do("PATCH", "Datastore_Phase_ActivitySalesOpportunity("+qual.ID.String()+")", `{"Name":"Renamed","DefaultProbability":55,"IsActive":false}`)
			if r.status != 400 && r.status != 409 {
				t.Fatalf("archiving a busy phase: %d %s", r.status, r.body)
			}
			got, _ := e.srv.store.Phase(context.Background(), qual.ID)
			if got.Name != qual.Name || got.DefaultProbability != qual.DefaultProbability || !got.IsActive {
				t.Fatalf("half written: %q %v active %v", got.Name, got.DefaultProbability, got.IsActive)
			}
		})
	}
}
