package handlers_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// multipartBatch builds a multipart/mixed $batch body: each item is a request ("GET url") or a
// change set (a []string of "id METHOD url body" lines).
func multipartBatch(items ...any) (contentType, body string) {
	var b strings.Builder
	part := func(w *strings.Builder, id, req string) {
		method, rest, _ := strings.Cut(req, " ")
		url, body, _ := strings.Cut(rest, " ")
		w.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
		if id != "" {
			w.WriteString("Content-ID: " + id + "\r\n")
		}
		w.WriteString("\r\n" + method + " " + url + " HTTP/1.1\r\nAccept: application/json\r\n")
		if body != "" {
			w.WriteString("Content-Type: application/json\r\n\r\n" + body + "\r\n")
		} else {
			w.WriteString("\r\n")
		}
	}
	for i, it := range items {
		b.WriteString("--batch_b\r\n")
		switch x := it.(type) {
		case string:
			part(&b, "", x)
		case []string:
			boundary := fmt.Sprintf("changeset_%d", i)
			b.WriteString("Content-Type: multipart/mixed; boundary=" + boundary + "\r\n\r\n")
			for _, line := range x {
				id, req, _ := strings.Cut(line, " ")
				b.WriteString("--" + boundary + "\r\n")
				part(&b, id, req)
			}
			b.WriteString("--" + boundary + "--\r\n")
		}
	}
	b.WriteString("--batch_b--\r\n")
	return "multipart/mixed; boundary=batch_b", b.String()
}

// TestODataBatch: multipart and JSON batches on both databases: reads, change sets that commit
// as one (with $<id> references to what they create) or roll back as one, the scope each request
// needs, the request limit.
func TestODataBatch(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			count := func() int64 { return e.count(&models.Activity{}, "1 = 1") }

			// A read, then a change set: create, then change what was created ($1).
			ct, body := multipartBatch(
				"GET Datastore_Phase?$top=1&$select=Name",
				[]string{`1 POST Activity_SalesOpportunity {"Subject": "Batched deal"}`, `2 PATCH $1 {"Subject": "Batched and renamed"}`},
			)
			r := e.do("POST", "$batch", body, "Content-Type", ct)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "multipart/mixed; boundary=") {
				t.Fatalf("batch: %d %v %s", r.status, r.header, r.body)
			}
			for _, want := range []string{"HTTP/1.1 200 OK", `"value":[{"Name":`, "Content-ID: 1", "HTTP/1.1 201 Created", "Content-ID: 2", "HTTP/1.1 204 No Content"} {
				if !strings.Contains(r.body, want) {
					t.Fatalf("batch answer lacks %q:\n%s", want, r.body)
				}
			}
			if n := e.count(&models.Activity{}, "subject = ?", "Batched and renamed"); n != 1 {
				t.Fatalf("the change set's writes: %d renamed", n)
			}

			// A change set whose second request fails writes nothing of the first.
			before := count()
			ct, body = multipartBatch([]string{`1 POST Activity_SalesOpportunity {"Subject": "Never stored"}`, `2 PATCH $1 {"Probability": 150}`})
			r = e.do("POST", "$batch", body, "Content-Type", ct)
			if r.status != 200 || !strings.Contains(r.body, "HTTP/1.1 400 Bad Request") || strings.Contains(r.body, "201 Created") {
				t.Fatalf("failing change set: %d %s", r.status, r.body)
			}
			if count() != before || e.count(&models.Activity{}, "subject = ?", "Never stored") != 0 {
				t.Fatal("a rolled-back change set left its create behind")
			}

			// Stop at the first failure unless Prefer: odata.continue-on-error.
			ct, body = multipartBatch("GET Nope", "GET Datastore_Phase/$count")
			if r = e.do("POST", "$batch", body, "Content-Type", ct); strings.Count(r.body, "HTTP/1.1 ") != 1 || !strings.Contains(r.body, "404 Not Found") {
				t.Fatalf("stop at the first failure: %s", r.body)
			}
			r = e.do("POST", "$batch", body, "Content-Type", ct, "Prefer", "odata.continue-on-error")
			if strings.Count(r.body, "HTTP/1.1 ") != 2 || r.header.Get("Preference-Applied") != "odata.continue-on-error" {
				t.Fatalf("continue on error: %v %s", r.header, r.body)
			}

			// JSON: an atomicity group with a reference, a dependent request, a read.
			jb := `{"requests":[
				{"id":"a","atomicityGroup":"g","method":"POST","url":"Activity_SalesOpportunity","body":{"Subject":"JSON deal"}},
				{"id":"b","atomicityGroup":"g","method":"PATCH","url":"$a","body":{"Subject":"JSON deal, renamed"}},
				{"id":"c","dependsOn":["b"],"method":"GET","url":"$a?$select=Subject"},
				{"id":"d","method":"GET","url":"/v1/odata/Datastore_Phase/$count"}]}`
			r = e.do("POST", "$batch", jb)
			var resp struct {
				Responses []struct {
					ID     string          `json:"id"`
					Status int             `json:"status"`
					Body   json.RawMessage `json:"body"`
				} `json:"responses"`
			}
			if err := json.Unmarshal([]byte(r.body), &resp); err != nil || len(resp.Responses) != 4 {
				t.Fatalf("JSON batch: %d %v %s", r.status, err, r.body)
			}
			got := fmt.Sprint(resp.Responses[0].Status, resp.Responses[1].Status, resp.Responses[2].Status, resp.Responses[3].Status)
			if got != "201 204 200 200" || !strings.Contains(string(resp.Responses[2].Body), `"Subject":"JSON deal, renamed"`) {
				t.Fatalf("JSON batch statuses %s: %s", got, r.body)
			}

			// A failing group: every request of it fails, nothing is written, dependants get 424.
			before = count()
			jb = `{"requests":[
				{"id":"a","atomicityGroup":"g","method":"POST","url":"Activity_SalesOpportunity","body":{"Subject":"JSON never"}},
				{"id":"b","atomicityGroup":"g","method":"PATCH","url":"$a","body":{"Colour":"red"}},
				{"id":"c","dependsOn":["a"],"method":"GET","url":"$a"}]}`
			r = e.do("POST", "$batch", jb, "Prefer", "odata.continue-on-error")
			json.Unmarshal([]byte(r.body), &resp)
			if len(resp.Responses) != 3 || resp.Responses[0].Status != 424 || resp.Responses[1].Status != 400 || resp.Responses[2].Status != 424 || count() != before {
				t.Fatalf("failing JSON group: %s", r.body)
			}

			// Each request needs the scope a single one would: a read-only client may batch reads only.
			read, _ := authtest.Token(t, e.srv.store, models.RoleManager, "read", nil)
			ro := *e
			ro.token = read
			before = count()
			ct, body = multipartBatch("GET Datastore_Phase/$count", []string{`1 POST Activity_SalesOpportunity {"Subject": "Sneaky"}`})
			r = ro.do("POST", "$batch", body, "Content-Type", ct, "Prefer", "odata.continue-on-error")
			if r.status != 200 || !strings.Contains(r.body, "HTTP/1.1 200 OK") || !strings.Contains(r.body, "HTTP/1.1 403 Forbidden") || count() != before {
				t.Fatalf("read-only batch: %d %s", r.status, r.body)
			}

			// Limits and malformed batches are clear 4xx.
			var many []string
			for i := 0; i < 101; i++ {
				many = append(many, fmt.Sprintf(`{"id":"r%d","method":"GET","url":"Datastore_Phase/$count"}`, i))
			}
			for _, bad := range []struct{ ct, body, want string }{
				{"application/json", `{"requests":[` + strings.Join(many, ",") + `]}`, "at most 100 requests"},
				{"application/json", `{"requests":[{"id":"x","method":"GET"}]}`, "needs a method and a url"},
				{"application/json", `{"requests":[{"id":"x","method":"GET","url":"a","dependsOn":["y"]}]}`, "does not come before"},
				{"application/json", `{"requests":[{"id":"a","atomicityGroup":"g","method":"POST","url":"x"},{"id":"b","method":"GET","url":"y"},{"id":"c","atomicityGroup":"g","method":"POST","url":"z"}]}`, "adjacent"},
				{"application/json", `{"requests":`, "malformed JSON"},
				{"multipart/mixed", "--x\r\n", "no boundary"},
				{"multipart/mixed; boundary=b", "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\nGET Datastore_Phase HTTP/1.1\r\n\r\n--c--\r\n--b--\r\n", "only changes"},
				{"text/plain", "GET x", "multipart/mixed or application/json"},
			} {
				if r := e.do("POST", "$batch", bad.body, "Content-Type", bad.ct); r.status < 400 || r.status >= 500 || !strings.Contains(r.body, bad.want) {
					t.Errorf("bad batch %.60q: %d %s", bad.body, r.status, r.body)
				}
			}
			ct, body = multipartBatch("GET $batch", "GET http://elsewhere.example/v1/odata/Pipeline", "GET $9")
			r = e.do("POST", "$batch", body, "Content-Type", ct, "Prefer", "odata.continue-on-error")
			if strings.Count(r.body, "HTTP/1.1 400 Bad Request") != 3 {
				t.Errorf("nested batch, foreign URL, unknown reference: %s", r.body)
			}
		})
	}
}

// TestODataBatchCountsAgainstTheRateLimit: every request inside a $batch counts like a single
// one (the batch itself counts too), and those past the limit answer 429.
func TestODataBatchCountsAgainstTheRateLimit(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			srv := newServer(t, dialect, 0)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			app := web.New(web.Config{Store: srv.store})
			handlers.Register(app, &handlers.Handler{Store: srv.store, APIRateLimit: 5})
			go app.Listener(ln)
			t.Cleanup(func() { app.Shutdown() })
			token, _ := authtest.Token(t, srv.store, models.RoleManager, "read", nil)
			e := &writeEnv{t: t, srv: &server{t: t, store: srv.store, URL: "http://" + ln.Addr().String()}, token: token}
			var reads []any
			for i := 0; i < 8; i++ {
				reads = append(reads, "GET Datastore_Phase/$count")
			}
			ct, body := multipartBatch(reads...)
			r := e.do("POST", "$batch", body, "Content-Type", ct, "Prefer", "odata.continue-on-error")
			// The batch is hit 1; its requests are hits 2 to 9, of which 2 to 5 are within the limit.
			if r.status != 200 || strings.Count(r.body, "HTTP/1.1 200 OK") != 4 || strings.Count(r.body, "HTTP/1.1 429 Too Many Requests") != 4 {
				t.Fatalf("batch past the limit: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "Datastore_Phase/$count", ""); r.status != 429 {
				t.Fatalf("a single request after the batch: %d", r.status)
			}
		})
	}
}
