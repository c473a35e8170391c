package odata

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// versionWriter writes the test opportunities' subject and bumps quantity,
// the set's ETag, honouring If-Match as a real Writer must (in one UPDATE).
type versionWriter struct{ db *sql.DB }

func (w versionWriter) NewChanges() any { return &testChanges{} }

// Create updates when the body names an existing ID, else inserts.
func (w versionWriter) Create(r *http.Request, changes any, body *Body) (string, bool, error) {
	ch := changes.(*testChanges)
	if body.Key != nil {
		var n int
		w.db.QueryRow("SELECT COUNT(*) FROM opportunities WHERE id = ?", *body.Key).Scan(&n)
		if n == 1 {
			return *body.Key, false, w.Update(r, *body.Key, changes, body)
		}
	}
	id := guid(900)
	_, err := w.db.Exec("INSERT INTO opportunities (id, subject, quantity, creation_date, is_closed) VALUES (?, ?, 1, '2026-01-01 00:00:00+00:00', 0)", id, deref(ch.Subject))
	return id, true, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (w versionWriter) Update(r *http.Request, key string, changes any, body *Body) error {
	pre, err := IfMatch(r)
	if err != nil {
		return err
	}
	ch := changes.(*testChanges)
	q, args := "UPDATE opportunities SET subject = ?, quantity = quantity + 1 WHERE id = ?", []any{deref(ch.Subject), key}
	if pre.Present && !pre.Any {
		var in []string
		for _, x := range pre.Values {
			v, err := strconv.Atoi(x)
			if err != nil {
				return PreconditionFailed("stale")
			}
			in = append(in, "?")
			args = append(args, v)
		}
		q += " AND quantity IN (" + strings.Join(in, ",") + ")"
	}
	res, err := w.db.Exec(q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return PreconditionFailed("the entity changed in the meantime")
	}
	return nil
}

func (w versionWriter) Delete(r *http.Request, key string) error { return nil }

func TestETagsAndWritePreferences(t *testing.T) {
	d := openSQLite(t)
	d.seed(t)
	m := testModel()
	for i := range m.Sets {
		switch m.Sets[i].Name {
		case "Activity_SalesOpportunity":
			m.Sets[i].ETag = "t.quantity"
			m.Sets[i].Writer = versionWriter{d.db}
		case "Pipeline":
			m.Sets[i].Writer = &recordingWriter{}
		}
	}
	s, err := NewService(m, d.db, d.dialect, Options{ServiceRoot: serviceRoot})
	if err != nil {
		t.Fatal(err)
	}
	req := func(method, target, body string, header ...string) response {
		r, _ := http.NewRequest(method, target, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Add(header[i], header[i+1])
		}
		rec := newRecorder()
		s.ServeHTTP(rec, r)
		return response{rec.Code, rec.Header(), rec.Body.String()}
	}
	one := "/v1/odata/Activity_SalesOpportunity(" + guid(101) + ")"

	// Reads carry the tag: header and body (first after the context).
	res := req("GET", one, "")
	if res.status != 200 || res.header.Get("ETag") != `W/"3"` ||
		!strings.HasPrefix(res.body, `{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity/$entity","@odata.etag":"W/\"3\"","ID":`) {
		t.Fatalf("GET: %d %v %s", res.status, res.header, res.body)
	}
	if res := req("GET", "/v1/odata/Activity_SalesOpportunity?$select=Subject&$filter=Quantity%20eq%202", ""); !strings.Contains(res.body, `"value":[{"@odata.etag":"W/\"2\"","Subject":"WEBSITE hosting"}]`) {
		t.Errorf("collection: %s", res.body)
	}
	if res := req("GET", "/v1/odata/Pipeline("+guid(1)+")", ""); res.header.Get("ETag") != "" || strings.Contains(res.body, "etag") {
		t.Errorf("set without ETag: %v %s", res.header, res.body)
	}
	if res := req("GET", "/v1/odata/Activity_SalesOpportunity("+guid(103)+")", ""); res.header.Get("ETag") != "" || strings.Contains(res.body, "etag") {
		t.Errorf("NULL tag: %v %s", res.header, res.body)
	}

	// If-Match: stale 412, malformed 400, current passes.
	if res := req("PATCH", one, `{"Subject":"x"}`, "If-Match", `W/"2"`); res.status != 412 || !strings.Contains(res.body, `"code":"PreconditionFailed"`) {
		t.Errorf("stale: %d %s", res.status, res.body)
	}
	if res := req("PATCH", one, `{"Subject":"x"}`, "If-Match", `W/2`); res.status != 400 {
		t.Errorf("malformed: %d %s", res.status, res.body)
	}
	res = req("PATCH", one, `{"Subject":"Renamed"}`, "If-Match", `W/"3"`)
	if res.status != 204 || res.header.Get("ETag") != `W/"4"` || res.header.Get("Preference-Applied") != "" {
		t.Errorf("PATCH: %d %v %s", res.status, res.header, res.body)
	}
	res = req("PUT", one, `{"Subject":"Again"}`, "If-Match", `W/"1", W/"4"`, "Prefer", "return=representation")
	if res.status != 200 || res.header.Get("ETag") != `W/"5"` || res.header.Get("Preference-Applied") != "return=representation" ||
		!strings.Contains(res.body, `"@odata.etag":"W/\"5\""`) || !strings.Contains(res.body, `"Subject":"Again"`) {
		t.Errorf("PUT representation: %d %v %s", res.status, res.header, res.body)
	}
	if res := req("PATCH", one, `{"Subject":"Any"}`, "If-Match", `*`, "Prefer", "return=minimal"); res.status != 204 || res.header.Get("Preference-Applied") != "return=minimal" || res.body != "" {
		t.Errorf("PATCH minimal: %d %v %s", res.status, res.header, res.body)
	}

	// POST: an existing ID updates (200, no Location), a new one creates.
	res = req("POST", "/v1/odata/Activity_SalesOpportunity", `{"ID":"`+guid(101)+`","Subject":"Via POST"}`)
	if res.status != 200 || res.header.Get("Location") != "" || !strings.Contains(res.body, `"Subject":"Via POST"`) || res.header.Get("ETag") != `W/"7"` {
		t.Errorf("POST update: %d %v %s", res.status, res.header, res.body)
	}
	res = req("POST", "/v1/odata/Activity_SalesOpportunity", `{"Subject":"New"}`, "Prefer", "return=minimal")
	if res.status != 204 || res.header.Get("Location") != serviceRoot+"/Activity_SalesOpportunity("+guid(900)+")" ||
		res.header.Get("OData-EntityId") == "" || res.header.Get("ETag") != `W/"1"` || res.body != "" {
		t.Errorf("POST minimal: %d %v %s", res.status, res.header, res.body)
	}

	// Bodies are bounded.
	if res := req("PATCH", one, `{"Subject":"`+strings.Repeat("x", maxBodySize)+`"}`); res.status != 413 {
		t.Errorf("oversized: %d %.100s", res.status, res.body)
	}

	// A set without tags: If-Match * is fine, a tag can never match.
	if res := req("PATCH", "/v1/odata/Pipeline("+guid(1)+")", `{}`, "If-Match", `W/"1"`); res.status != 412 {
		t.Errorf("no-ETag set: %d %s", res.status, res.body)
	}
	if res := req("PATCH", "/v1/odata/Pipeline("+guid(1)+")", `{}`, "If-Match", `*`, "Prefer", "return=representation"); res.status != 200 || !strings.Contains(res.body, `"Name":"Sales"`) {
		t.Errorf("no-ETag set, *: %d %s", res.status, res.body)
	}
}

func TestIfMatchParsing(t *testing.T) {
	for _, c := range []struct {
		header string
		want   Precondition
		bad    bool
	}{
		{"", Precondition{}, false},
		{"*", Precondition{Present: true, Any: true}, false},
		{`W/"3"`, Precondition{Present: true, Values: []string{"3"}}, false},
		{`"a", W/"b"`, Precondition{Present: true, Values: []string{"a", "b"}}, false},
		{`3`, Precondition{}, true},
		{`W/"a"b"`, Precondition{}, true},
		{` , `, Precondition{}, true},
	} {
		r, _ := http.NewRequest("PATCH", "/", nil)
		if c.header != "" {
			r.Header.Set("If-Match", c.header)
		}
		got, err := IfMatch(r)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v", c.header, err)
			continue
		}
		if !c.bad && (got.Present != c.want.Present || got.Any != c.want.Any || strings.Join(got.Values, "|") != strings.Join(c.want.Values, "|")) {
			t.Errorf("%q: got %+v", c.header, got)
		}
	}
	p := Precondition{Present: true, Values: []string{"2", "5"}}
	if !p.Matches("5") || p.Matches("3") || !(Precondition{}).Matches("x") || !(Precondition{Present: true, Any: true}).Matches("x") {
		t.Error("Matches")
	}
}

// appendJSONString writes what encoding/json writes, for every kind of character it escapes.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rret\bback\fform",
		"\x00\x01\x1f\x7f", "<script>&amp;</script>", "é ü ß 中文 🙂", "line\u2028sep\u2029para",
		"bad \xff\xfe utf8 \xc3", "\xe2\x80", "end\\"}
	for r := rune(0); r < 0x3000; r += 7 { // a sweep of code points, escaped or not
		cases = append(cases, "a"+string(r)+"b")
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}
