package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// writeEnv drives /v1/odata writes of a real server (demo reference data, no opportunities)
// with a read-write token of a manager.
type writeEnv struct {
	t      *testing.T
	srv    *server
	token  string
	pipe   models.Pipeline
	phases map[string]models.Phase
	other  models.Phase // a phase of the Renewals pipeline
}

func newWriteEnv(t *testing.T, dialect string) *writeEnv {
	t.Helper()
	srv := newServer(t, dialect, 0)
	pipe, phases := fixture(t, srv.store)
	emps, err := srv.store.Employees(context.Background())
	if err != nil || len(emps) == 0 {
		t.Fatal("employees", err)
	}
	tok, _ := authtest.Token(t, srv.store, models.RoleManager, "read write", &emps[0].ID)
	e := &writeEnv{t: t, srv: srv, token: tok, pipe: pipe, phases: phases}
	if err := srv.store.DB.Where("type = ? AND pipeline_id <> ?", models.PhaseType("SalesOpportunity"), pipe.ID).Take(&e.other).Error; err != nil {
		t.Fatal(err)
	}
	return e
}

type writeResp struct {
	status int
	header http.Header
	body   string
	entity map[string]any
}

// do sends a request to /v1/odata/<path> with the token; header is name, value pairs.
func (e *writeEnv) do(method, path, body string, header ...string) writeResp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/v1/odata/"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := writeResp{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(out.body, "{") {
		json.Unmarshal(b, &out.entity)
	}
	return out
}

// oversized announces a 2 MiB JSON body and returns the status of the answer. Only the header is
// sent: the server refuses by Content-Length before reading, so its answer cannot be lost to a
// reset of a connection it closes with a body still unread.
func (e *writeEnv) oversized(method, path string) int {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s /v1/odata/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"Subject\": \"",
		method, path, e.token, 2<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// opp reads an opportunity from the store (nil when it does not exist).
func (e *writeEnv) opp(id string) *models.Activity {
	e.t.Helper()
	var a []models.Activity
	if err := e.srv.store.DB.Where("id = ?", id).Find(&a).Error; err != nil {
		e.t.Fatal(err)
	}
	if len(a) == 0 {
		return nil
	}
	return &a[0]
}

func (e *writeEnv) count(model any, cond string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.srv.store.DB.Model(model).Where(cond, args...).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// wantError checks an OData error answer: status and target.
func wantError(t *testing.T, what string, r writeResp, status int, target string) {
	t.Helper()
	var body struct {
		Error struct {
			Code, Message string
			Target        *string
		}
	}
	if r.status != status || json.Unmarshal([]byte(r.body), &body) != nil || body.Error.Message == "" {
		t.Errorf("%s: want %d with an OData error, got %d %s", what, status, r.status, r.body)
		return
	}
	got := ""
	if body.Error.Target != nil {
		got = *body.Error.Target
	}
	if got != target {
		t.Errorf("%s: target %q, want %q (%s)", what, got, target, r.body)
	}
}

func TestODataWriteOpportunity(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			s := e.srv.store
			rels, _ := s.Relationships(context.Background())
			prop, won, qual := e.phases["Proposal"], e.phases["Won"], e.phases["Qualification"]

			// Create: seed link form and @odata.bind; server-owned fields are ignored.
			r := e.do("POST", "Activity_SalesOpportunity", `{
				"Subject": "Website relaunch", "EstimatedAmount": 1000.1, "ExpectedOrderDate": "2026-06-30",
				"Phase": {"ID": "`+prop.ID.String()+`"},
				"Relationship@odata.bind": "Relationship(`+rels[0].ID.String()+`)",
				"Number": "1999-99999", "WeightedAmount": 5, "_Type": "Evil", "_Name": "x",
				"CreationDate": "2000-01-01T00:00:00Z", "LastMutationDate": "2000-01-01T00:00:00Z",
				"@odata.type": "#Activity.SalesOpportunity"}`)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			id, _ := r.entity["ID"].(string)
			if r.header.Get("Location") == "" || !strings.HasSuffix(r.header.Get("Location"), "/v1/odata/Activity_SalesOpportunity("+id+")") {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
			if r.entity["Subject"] != "Website relaunch" || r.entity["Probability"] != prop.DefaultProbability ||
				r.entity["WeightedAmount"] != 1000.1*prop.DefaultProbability/100 || r.entity["_Type"] != models.SalesOpportunity.Type ||
				strings.HasPrefix(r.entity["Number"].(string), "1999") || strings.HasPrefix(r.entity["CreationDate"].(string), "2000") ||
				r.entity["ExpectedOrderDate"] != "2026-06-30" || r.entity["@odata.etag"] != `W/"1"` || r.header.Get("ETag") != `W/"1"` {
				t.Errorf("created entity: %s", r.body)
			}
			a := e.opp(id)
			if a == nil || a.PhaseID != prop.ID || a.RelationshipID == nil || *a.RelationshipID != rels[0].ID || a.PipelineID != e.pipe.ID {
				t.Fatalf("stored: %+v", a)
			}
			if n := e.count(&models.PhaseChange{}, "activity_id = ?", id); n != 1 {
				t.Errorf("history after create: %d", n)
			}

			// GET carries the ETag.
			if r := e.do("GET", "Activity_SalesOpportunity("+id+")", ""); r.header.Get("ETag") != `W/"1"` || r.entity["@odata.etag"] != `W/"1"` {
				t.Errorf("GET: %v %s", r.header, r.body)
			}

			// Tribe's POST with an existing ID updates (200, no Location).
			r = e.do("POST", "Activity_SalesOpportunity", `{"ID": "`+id+`", "Subject": "Website relaunch v2"}`)
			if r.status != 200 || r.header.Get("Location") != "" || r.entity["Subject"] != "Website relaunch v2" || r.entity["@odata.etag"] != `W/"2"` {
				t.Errorf("POST with ID: %d %v %s", r.status, r.header, r.body)
			}
			wantError(t, "POST with unknown ID", e.do("POST", "Activity_SalesOpportunity", `{"ID": "`+uuid.NewString()+`", "Subject": "x"}`), 404, "ID")

			// PATCH and partial PUT change only what they send.
			if r := e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Subject": "Patched"}`); r.status != 204 || r.header.Get("ETag") != `W/"3"` {
				t.Errorf("PATCH: %d %v %s", r.status, r.header, r.body)
			}
			if r := e.do("PUT", "Activity_SalesOpportunity("+id+")", `{"Currency": "usd"}`); r.status != 204 {
				t.Errorf("PUT: %d %s", r.status, r.body)
			}
			a = e.opp(id)
			if a.Subject != "Patched" || a.Currency != "USD" || a.EstimatedAmount == nil || *a.EstimatedAmount != 1000.1 || a.Version != 4 {
				t.Errorf("after PATCH/PUT: %+v", a)
			}
			// A whole entity PUT back (as read) is fine: read-only fields are ignored.
			got := e.do("GET", "Activity_SalesOpportunity("+id+")", "")
			delete(got.entity, "@odata.context")
			whole, _ := json.Marshal(got.entity)
			if r := e.do("PUT", "Activity_SalesOpportunity("+id+")", string(whole), "Prefer", "return=representation"); r.status != 200 ||
				r.header.Get("Preference-Applied") != "return=representation" || r.entity["Subject"] != "Patched" {
				t.Errorf("PUT of the read entity: %d %s", r.status, r.body)
			}

			// The Activity money fields, read exactly; a margin may be negative.
			r = e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"DiscountPercentage": 12.5, "IsVatIncluded": true,
				"BillingAmount": 1234567.891, "TotalMargin": -250.25, "VatAmount": 0.1, "AmountInCurrency": 3e2}`, "Prefer", "return=representation")
			if r.status != 200 || r.entity["DiscountPercentage"] != 12.5 || r.entity["IsVatIncluded"] != true || r.entity["BillingAmount"] != 1234567.891 ||
				r.entity["TotalMargin"] != -250.25 || r.entity["VatAmount"] != 0.1 || r.entity["AmountInCurrency"] != 300.0 {
				t.Errorf("money fields: %d %s", r.status, r.body)
			}
			wantError(t, "discount over 100", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"DiscountPercentage": 101}`), 400, "DiscountPercentage")
			wantError(t, "bool as string", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"IsVatIncluded": "true"}`), 400, "IsVatIncluded")

			// A phase change is a board move: probability, closed, history.
			r = e.do("PATCH", "Activity_SalesOpportunity("+id+")",
				`{"Phase@odata.bind": "`+e.srv.URL+`/v1/odata/Datastore_Phase_ActivitySalesOpportunity(`+won.ID.String()+`)"}`, "Prefer", "return=representation")
			if r.status != 200 || r.entity["Probability"] != 100.0 || r.entity["IsClosed"] != true || r.entity["WeightedAmount"] != 1000.1 {
				t.Errorf("move to Won: %d %s", r.status, r.body)
			}
			if n := e.count(&models.PhaseChange{}, "activity_id = ? AND to_phase_id = ?", id, won.ID); n != 1 {
				t.Errorf("history of the move: %d", n)
			}

			// Refusals write nothing.
			before := e.opp(id)
			wantError(t, "phase of another pipeline", e.do("PATCH", "Activity_SalesOpportunity("+id+")",
				`{"Subject": "Should not stick", "Phase": {"ID": "`+e.other.ID.String()+`"}}`), 400, "Phase")
			wantError(t, "unknown field", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Subject": "No", "Bogus": 1}`), 400, "Bogus")
			wantError(t, "wrong type", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"EstimatedAmount": "1000"}`), 400, "EstimatedAmount")
			wantError(t, "bad date", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"ExpectedOrderDate": "30-06-2026"}`), 400, "ExpectedOrderDate")
			wantError(t, "huge number", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"EstimatedAmount": 1e400}`), 400, "EstimatedAmount")
			wantError(t, "negative amount", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"EstimatedAmount": -1}`), 400, "EstimatedAmount")
			wantError(t, "Phase null", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Phase": null}`), 400, "Phase")
			wantError(t, "bind to the wrong set", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Phase@odata.bind": "Pipeline(`+e.pipe.ID.String()+`)"}`), 400, "Phase")
			wantError(t, "link to nothing", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Relationship": {"ID": "`+uuid.NewString()+`"}}`), 400, "Relationship")
			wantError(t, "ID differs from the URL", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"ID": "`+uuid.NewString()+`"}`), 400, "ID")
			wantError(t, "duplicate key", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Subject": "a", "Subject": "b"}`), 400, "Subject")
			wantError(t, "not an object", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `["Subject"]`), 400, "")
			wantError(t, "trailing data", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Subject": "a"} {}`), 400, "")
			wantError(t, "deep insert", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"ProductLines": []}`), 400, "ProductLines")
			wantError(t, "closed probability", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Probability": 50}`), 400, "Probability")
			if st := e.oversized("PATCH", "Activity_SalesOpportunity("+id+")"); st != 413 {
				t.Errorf("oversized body: %d", st)
			}
			if after := e.opp(id); after.Version != before.Version || after.Subject != before.Subject || after.PhaseID != won.ID {
				t.Errorf("a refused write changed the opportunity: %+v", after)
			}

			// null clears a nullable link; moving back reopens.
			r = e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Relationship": null, "Phase": {"ID": "`+qual.ID.String()+`"}}`, "Prefer", "return=representation")
			if a := e.opp(id); r.status != 200 || a.RelationshipID != nil || a.IsClosed || *a.Probability != qual.DefaultProbability {
				t.Errorf("clear + reopen: %d %s", r.status, r.body)
			}

			// SQL injection in strings is stored literally.
			evil := `Robert'); DROP TABLE activities; --`
			r = e.do("POST", "Activity_SalesOpportunity", `{"Subject": `+mustJSONString(evil)+`, "RelationDescription": "' OR 1=1 --", "ImportId": "x' OR '1'='1"}`)
			if r.status != 201 || r.entity["Subject"] != evil || r.entity["RelationDescription"] != "' OR 1=1 --" {
				t.Errorf("injection: %d %s", r.status, r.body)
			}
			if n := e.count(&models.Activity{}, "1 = 1"); n != 2 { // the deal and this one
				t.Errorf("%d opportunities after the injection attempt", n)
			}

			// Given only a phase, the opportunity goes to that phase's pipeline.
			r = e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Renewal", "Phase": {"ID": "`+e.other.ID.String()+`"}}`)
			if r.status != 201 {
				t.Errorf("create in another pipeline's phase: %d %s", r.status, r.body)
			} else if a := e.opp(r.entity["ID"].(string)); a.PipelineID != e.other.PipelineID || a.PhaseID != e.other.ID {
				t.Errorf("created in %s / %s", a.PipelineID, a.PhaseID)
			}
			wantError(t, "create with a phase of the wrong pipeline", e.do("POST", "Activity_SalesOpportunity",
				`{"Subject": "x", "Pipeline": {"ID": "`+e.pipe.ID.String()+`"}, "Phase": {"ID": "`+e.other.ID.String()+`"}}`), 400, "Phase")
			wantError(t, "create without subject", e.do("POST", "Activity_SalesOpportunity", `{"Phase": {"ID": "`+qual.ID.String()+`"}}`), 400, "Subject")

			// Prefer: return=minimal on create.
			r = e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Minimal"}`, "Prefer", "return=minimal")
			if r.status != 204 || r.body != "" || r.header.Get("Preference-Applied") != "return=minimal" || r.header.Get("Location") == "" || r.header.Get("ETag") != `W/"1"` {
				t.Errorf("minimal create: %d %v %s", r.status, r.header, r.body)
			}

			// DELETE: 204, then 404.
			if r := e.do("DELETE", "Activity_SalesOpportunity("+id+")", ""); r.status != 204 {
				t.Errorf("DELETE: %d %s", r.status, r.body)
			}
			wantError(t, "DELETE again", e.do("DELETE", "Activity_SalesOpportunity("+id+")", ""), 404, "")
			wantError(t, "PATCH deleted", e.do("PATCH", "Activity_SalesOpportunity("+id+")", `{"Subject": "x"}`), 404, "")
			if e.opp(id) != nil || e.count(&models.PhaseChange{}, "activity_id = ?", id) != 0 {
				t.Error("DELETE left the opportunity or its history")
			}
		})
	}
}

func mustJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestODataWriteImportIdIsIdempotent(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			first := e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Imported", "ImportId": "crm:42", "EstimatedAmount": 10}`)
			again := e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Imported again", "ImportId": "crm:42", "EstimatedAmount": 20}`)
			if first.status != 201 || again.status != 200 || first.entity["ID"] != again.entity["ID"] || again.entity["Subject"] != "Imported again" {
				t.Fatalf("retry: %d %s / %d %s", first.status, first.body, again.status, again.body)
			}
			if n := e.count(&models.Activity{}, "import_id = ?", "crm:42"); n != 1 {
				t.Errorf("%d records for one ImportId", n)
			}

			// Eight concurrent first imports of one record: one creates, the others update it.
			const workers = 8
			statuses := make([]int, workers)
			ids := make([]string, workers)
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.do("POST", "Activity_SalesOpportunity", fmt.Sprintf(`{"Subject": "Racer %d", "ImportId": "crm:race"}`, i))
					statuses[i] = r.status
					ids[i], _ = r.entity["ID"].(string)
				}()
			}
			wg.Wait()
			created := 0
			for i, st := range statuses {
				switch st {
				case 201:
					created++
				case 200:
				default:
					t.Errorf("worker %d: status %d", i, st)
				}
				if ids[i] != ids[0] {
					t.Errorf("worker %d got %s, worker 0 %s", i, ids[i], ids[0])
				}
			}
			if created != 1 {
				t.Errorf("%d creates, want 1 (%v)", created, statuses)
			}
			if n := e.count(&models.Activity{}, "import_id = ?", "crm:race"); n != 1 {
				t.Errorf("%d records for one raced ImportId", n)
			}
		})
	}
}

func TestODataWriteIfMatch(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			r := e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Contested", "EstimatedAmount": 0}`)
			id, _ := r.entity["ID"].(string)
			path := "Activity_SalesOpportunity(" + id + ")"

			// Stale: 412 and nothing written, for PATCH, PUT, POST-with-ID and DELETE.
			if r := e.do("PATCH", path, `{"Subject": "v2"}`, "If-Match", `W/"1"`); r.status != 204 || r.header.Get("ETag") != `W/"2"` {
				t.Fatalf("current If-Match: %d %s", r.status, r.body)
			}
			wantError(t, "stale PATCH", e.do("PATCH", path, `{"Subject": "lost"}`, "If-Match", `W/"1"`), 412, "If-Match")
			wantError(t, "stale PUT", e.do("PUT", path, `{"Subject": "lost"}`, "If-Match", `W/"1"`), 412, "If-Match")
			wantError(t, "stale POST", e.do("POST", "Activity_SalesOpportunity", `{"ID": "`+id+`", "Subject": "lost"}`, "If-Match", `W/"1"`), 412, "If-Match")
			wantError(t, "stale list", e.do("PATCH", path, `{"Subject": "lost"}`, "If-Match", `W/"1", W/"7"`), 412, "If-Match")
			wantError(t, "stale DELETE", e.do("DELETE", path, "", "If-Match", `W/"1"`), 412, "If-Match")
			wantError(t, "malformed", e.do("PATCH", path, `{"Subject": "lost"}`, "If-Match", `v2`), 400, "If-Match")
			if a := e.opp(id); a == nil || a.Subject != "v2" || a.Version != 2 {
				t.Fatalf("a stale write changed the opportunity: %+v", a)
			}
			if r := e.do("PATCH", path, `{"Subject": "v3"}`, "If-Match", `W/"1", W/"2"`); r.status != 204 {
				t.Errorf("list with the current tag: %d %s", r.status, r.body)
			}
			if r := e.do("PATCH", path, `{"Subject": "v4"}`, "If-Match", `*`); r.status != 204 {
				t.Errorf("If-Match *: %d %s", r.status, r.body)
			}

			// Rounds of racing writers with the same tag: exactly one wins each round.
			const workers, rounds = 8, 4
			for round := range rounds {
				tag := e.do("GET", path, "").header.Get("ETag")
				statuses := make([]int, workers)
				var wg sync.WaitGroup
				for i := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses[i] = e.do("PATCH", path, fmt.Sprintf(`{"Subject": "round %d by %d"}`, round, i), "If-Match", tag).status
					}()
				}
				wg.Wait()
				won := 0
				for _, st := range statuses {
					switch st {
					case 204:
						won++
					case 412:
					default:
						t.Errorf("round %d: status %d", round, st)
					}
				}
				if won != 1 {
					t.Errorf("round %d: %d winners (%v)", round, won, statuses)
				}
			}

			// Read-modify-write counters with retries on 412: no increment is lost.
			const incs = 3
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for done := 0; done < incs; {
						g := e.do("GET", path, "")
						n, _ := g.entity["EstimatedAmount"].(float64)
						r := e.do("PATCH", path, fmt.Sprintf(`{"EstimatedAmount": %v}`, n+1), "If-Match", g.header.Get("ETag"))
						switch r.status {
						case 204:
							done++
						case 412:
						default:
							t.Errorf("increment: %d %s", r.status, r.body)
							return
						}
					}
				}()
			}
			wg.Wait()
			if a := e.opp(id); a.EstimatedAmount == nil || *a.EstimatedAmount != 6*incs {
				t.Errorf("counter %v, want %d", a.EstimatedAmount, 6*incs)
			}
		})
	}
}

// as returns e acting with a read-write token of role (as the employee emp when not nil).
func (e *writeEnv) as(role string, emp *uuid.UUID) *writeEnv {
	tok, _ := authtest.Token(e.t, e.srv.store, role, "read write", emp)
	c := *e
	c.token = tok
	return &c
}

func TestODataWriteRecords(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			s := e.srv.store
			ctx := context.Background()
			emps, _ := s.Employees(ctx)
			admin, rep := e.as(models.RoleAdmin, nil), e.as(models.RoleRep, &emps[1].ID)

			// Customers: create, partial update, ImportId idempotency, delete in use → 409.
			r := e.do("POST", "Relationship", `{"Name": "  Globex  ", "City": "Gent", "ImportId": "erp:7"}`)
			if r.status != 201 || r.entity["Name"] != "Globex" || r.entity["City"] != "Gent" || r.entity["_Type"] != models.TypeCustomer {
				t.Fatalf("create customer: %d %s", r.status, r.body)
			}
			rel := r.entity["ID"].(string)
			if r := e.do("POST", "Relationship", `{"Name": "Globex Corp", "ImportId": "erp:7"}`); r.status != 200 || r.entity["ID"] != rel || r.entity["City"] != "Gent" {
				t.Errorf("re-import customer: %d %s", r.status, r.body)
			}
			if r := e.do("PATCH", "Relationship("+rel+")", `{"City": "Brussel", "IsActive": false}`, "Prefer", "return=representation"); r.status != 200 || r.entity["City"] != "Brussel" || r.entity["IsActive"] != false || r.entity["Name"] != "Globex Corp" {
				t.Errorf("patch customer: %d %s", r.status, r.body)
			}
			wantError(t, "customer without name", e.do("POST", "Relationship", `{"City": "Gent"}`), 400, "Name")
			wantError(t, "customer If-Match tag", e.do("PATCH", "Relationship("+rel+")", `{"City": "x"}`, "If-Match", `W/"1"`), 412, "If-Match")

			// Contacts link to customers.
			r = e.do("POST", "Relation_Person_Contact", `{"FirstName": "Ann", "LastName": "Lee", "Email": "ann@globex.example", "Relationship@odata.bind": "Relationship(`+rel+`)"}`)
			if r.status != 201 || r.entity["_Name"] != "Ann Lee" {
				t.Fatalf("create contact: %d %s", r.status, r.body)
			}
			contact := r.entity["ID"].(string)
			wantError(t, "bad email", e.do("PATCH", "Relation_Person_Contact("+contact+")", `{"Email": "not an email"}`), 400, "Email")
			wantError(t, "contact of nobody", e.do("PATCH", "Relation_Person_Contact("+contact+")", `{"Relationship": {"ID": "`+uuid.NewString()+`"}}`), 400, "Relationship")
			if r := e.do("PATCH", "Relation_Person_Contact("+contact+")", `{"Relationship": null}`); r.status != 204 {
				t.Errorf("clear contact's customer: %d %s", r.status, r.body)
			}

			// An opportunity for the customer keeps it from being deleted.
			r = e.do("POST", "Activity_SalesOpportunity", `{"Subject": "Globex deal", "Relationship": {"ID": "`+rel+`"}}`)
			opp := r.entity["ID"].(string)
			wantError(t, "delete customer in use", e.do("DELETE", "Relationship("+rel+")", ""), 409, "")

			// Sources: any role; delete 204 then 404.
			r = rep.do("POST", "Datastore_Source", `{"Name": "Fair", "Code": "FAIR"}`)
			if r.status != 201 {
				t.Fatalf("create source as rep: %d %s", r.status, r.body)
			}
			src := r.entity["ID"].(string)
			if r := e.do("DELETE", "Datastore_Source("+src+")", ""); r.status != 204 {
				t.Errorf("delete source: %d %s", r.status, r.body)
			}
			wantError(t, "delete source again", e.do("DELETE", "Datastore_Source("+src+")", ""), 404, "")

			// Lost reasons, pipelines and phases are for admins.
			wantError(t, "lost reason as manager", e.do("POST", "Datastore_LostReason", `{"Name": "Timing"}`), 403, "")
			if r := admin.do("POST", "Datastore_LostReason", `{"Name": "Timing", "Code": "T"}`); r.status != 201 {
				t.Errorf("lost reason as admin: %d %s", r.status, r.body)
			}
			wantError(t, "pipeline as manager", e.do("POST", "Pipeline", `{"Name": "Partners", "ActivityType": "Activity.SalesOpportunity"}`), 403, "")
			r = admin.do("POST", "Pipeline", `{"Name": "Partners", "ActivityType": "Activity.SalesOpportunity"}`)
			if r.status != 201 || r.entity["ActivityType"] != models.SalesOpportunity.Type {
				t.Fatalf("pipeline as admin: %d %s", r.status, r.body)
			}
			pipe := r.entity["ID"].(string)
			wantError(t, "phase as manager", e.do("POST", "Datastore_Phase_ActivitySalesOpportunity", `{"Name": "Intro", "Pipeline": {"ID": "`+pipe+`"}}`), 403, "")
			r = admin.do("POST", "Datastore_Phase_ActivitySalesOpportunity", `{"Name": "Intro", "DefaultProbability": 15, "Pipeline": {"ID": "`+pipe+`"}}`)
			if r.status != 201 || r.entity["DefaultProbability"] != 15.0 || r.entity["_Type"] != models.PhaseType("SalesOpportunity") {
				t.Fatalf("phase as admin: %d %s", r.status, r.body)
			}
			phase := r.entity["ID"].(string)
			wantError(t, "invoice phase in a sales pipeline", admin.do("POST", "Datastore_Phase_ActivityInvoice", `{"Name": "X", "Pipeline": {"ID": "`+pipe+`"}}`), 400, "Pipeline")
			wantError(t, "sales phase through the invoice set", admin.do("PATCH", "Datastore_Phase_ActivityInvoice("+phase+")", `{"Name": "X"}`), 404, "")
			wantError(t, "phase probability", admin.do("PATCH", "Datastore_Phase_ActivitySalesOpportunity("+phase+")", `{"DefaultProbability": 120}`), 400, "DefaultProbability")
			if r := admin.do("PATCH", "Datastore_Phase_ActivitySalesOpportunity("+phase+")", `{"Name": "Introduction"}`, "Prefer", "return=representation"); r.status != 200 || r.entity["Name"] != "Introduction" || r.entity["DefaultProbability"] != 15.0 {
				t.Errorf("rename phase: %d %s", r.status, r.body)
			}
			if r := admin.do("DELETE", "Datastore_Phase_ActivitySalesOpportunity("+phase+")", ""); r.status != 204 {
				t.Errorf("delete empty phase: %d %s", r.status, r.body)
			}
			wantError(t, "delete a phase with opportunities", admin.do("DELETE", "Datastore_Phase_ActivitySalesOpportunity("+e.phases["Qualification"].ID.String()+")", ""), 409, "")
			wantError(t, "delete pipeline", admin.do("DELETE", "Pipeline("+pipe+")", ""), 409, "")
			if r := admin.do("PATCH", "Pipeline("+pipe+")", `{"Name": "Partner deals", "IsActive": false}`, "Prefer", "return=representation"); r.status != 200 || r.entity["Name"] != "Partner deals" || r.entity["IsActive"] != false {
				t.Errorf("rename + archive pipeline: %d %s", r.status, r.body)
			}

			// Product lines keep their opportunity's line count and total.
			r = e.do("POST", "ProductLine", `{"Activity": {"ID": "`+opp+`"}, "Description": "Design", "Quantity": 2, "Price": 300.5, "Amount": 1}`)
			if r.status != 201 || r.entity["Amount"] != 601.0 {
				t.Fatalf("create line: %d %s", r.status, r.body)
			}
			line := r.entity["ID"].(string)
			if a := e.opp(opp); a.NumberOfProductLines != 1 || a.TotalSalesExcludingVAT != 601 || a.Version != 2 {
				t.Errorf("after a line: %v lines, total %v, version %d", a.NumberOfProductLines, a.TotalSalesExcludingVAT, a.Version)
			}
			if r := e.do("PATCH", "ProductLine("+line+")", `{"Quantity": 3}`); r.status != 204 {
				t.Errorf("patch line: %d %s", r.status, r.body)
			}
			if a := e.opp(opp); a.TotalSalesExcludingVAT != 901.5 {
				t.Errorf("total after patch: %v", a.TotalSalesExcludingVAT)
			}
			wantError(t, "line without opportunity", e.do("POST", "ProductLine", `{"Description": "x"}`), 400, "Activity")
			if r := e.do("PATCH", "Activity_SalesOpportunity("+opp+")", `{"NumberOfProductLines": 9, "TotalSalesExcludingVAT": 9, "Subject": "ok"}`); r.status != 204 {
				t.Errorf("computed totals sent back: %d %s", r.status, r.body)
			}
			if a := e.opp(opp); a.NumberOfProductLines != 1 || a.TotalSalesExcludingVAT != 901.5 || a.Subject != "ok" {
				t.Errorf("computed totals were taken from the client: %+v", a)
			}
			if r := e.do("DELETE", "ProductLine("+line+")", ""); r.status != 204 {
				t.Errorf("delete line: %d %s", r.status, r.body)
			}
			if a := e.opp(opp); a.NumberOfProductLines != 0 || a.TotalSalesExcludingVAT != 0 {
				t.Errorf("after deleting the line: %+v", a)
			}

			// A rep may not change another rep's opportunity, nor its lines.
			if r := e.do("PATCH", "Activity_SalesOpportunity("+opp+")", `{"SalesRepresentative": {"ID": "`+emps[0].ID.String()+`"}}`); r.status != 204 {
				t.Fatalf("assign: %d %s", r.status, r.body)
			}
			wantError(t, "rep edits another rep's deal", rep.do("PATCH", "Activity_SalesOpportunity("+opp+")", `{"Subject": "mine"}`), 403, "")
			wantError(t, "rep adds a line to another rep's deal", rep.do("POST", "ProductLine", `{"Activity": {"ID": "`+opp+`"}, "Description": "x"}`), 403, "")
			wantError(t, "rep deletes another rep's deal", rep.do("DELETE", "Activity_SalesOpportunity("+opp+")", ""), 403, "")
		})
	}
}
