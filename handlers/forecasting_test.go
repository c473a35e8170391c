package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/web/authtest"
)

// The targets page, the attainment section and the manager's adjustment, on the forecast of
// forecastData (as of 10 February 2026: A Anna 10,000 weighted 1,000; B Bram 20,000 weighted
// 6,000; both in February).
func TestTargetsPageAndOverrides(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		_, _, anna, bram := forecastData(t, s)
		c := s.client()
		code, body := c.get("/forecast/targets?year=2026")
		if code != 200 || !strings.Contains(body, `data-testid="targets-table"`) || !strings.Contains(body, `data-key="team"`) {
			t.Fatalf("targets page %d", code)
		}
		feb := ":2026-02-01:2026-02-28"
		resp, _ := c.post("/forecast/targets", url.Values{"year": {"2026"}, "by": {"month"},
			"t:" + anna.ID.String() + feb: {"40,000"}, "t:team" + feb: {"100000"}, "t:" + bram.ID.String() + feb: {""}}, false)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/forecast/targets?year=2026&by=month&saved=1" {
			t.Fatalf("save %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// A typo is refused with what was typed, and nothing is saved.
		resp, body = c.post("/forecast/targets", url.Values{"year": {"2026"}, "by": {"month"}, "t:" + bram.ID.String() + feb: {"12k"},
			"t:" + anna.ID.String() + feb: {"1"}}, false)
		if resp.StatusCode != 400 || !strings.Contains(body, `value="12k"`) || !strings.Contains(body, "is not an amount") {
			t.Fatalf("typo %d %s", resp.StatusCode, body)
		}
		_, body = c.get("/forecast?from=2026-01&to=2026-04&period=2026-02")
		row := attainmentRow(t, body, anna.ID.String())
		if !strings.Contains(row, "€ 40,000") || !strings.Contains(row, "0.03×") || !strings.Contains(row, "0.0%") {
			t.Errorf("Anna's row %s", row)
		}
		if total := between(body, `data-testid="attainment-total"`, "</tr>"); !strings.Contains(total, "€ 100,000") || !strings.Contains(total, "€ 7,000") {
			t.Errorf("total row %s", total)
		}
		if !strings.Contains(body, `data-testid="chart-target"`) || !strings.Contains(body, `data-testid="chart-gap"`) {
			t.Errorf("the chart lacks the target and its gap")
		}

		// The manager's adjustment.
		resp, _ = c.post("/forecast/overrides", url.Values{"rep": {bram.ID.String()}, "period": {"2026-02"}, "amount": {"9000"},
			"note": {"B closes early"}, "return": {"from=2026-01&to=2026-04"}}, false)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/forecast?") {
			t.Fatalf("override %d", resp.StatusCode)
		}
		_, body = c.get(resp.Header.Get("Location"))
		override := between(body, `data-testid="override" data-rep="`+bram.ID.String()+`"`, "</details>")
		if !strings.Contains(override, `data-testid="manager-commit">€ 9,000<`) || !strings.Contains(override, `data-testid="commit-difference">+ € 9,000<`) ||
			!strings.Contains(override, "B closes early") {
			t.Errorf("Bram's override %s", override)
		}
		// The CSV holds the targets table too.
		res, err := c.http.Get(c.base + "/forecast.csv?from=2026-01&to=2026-04&period=2026-02")
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := readCSV(res.Body)
		res.Body.Close()
		found := false
		for _, r := range recs {
			found = found || r[0] == "Targets and attainment, Feb 2026"
		}
		if !found {
			t.Errorf("CSV lacks the targets")
		}

		// Reps may not set targets or adjust commits.
		rep := s.client()
		_, cookie := authtest.Login(t, s.store, models.RoleRep, &bram.ID)
		rep.useSession(cookie)
		rep.get("/forecast")
		if code, _ := rep.get("/forecast/targets"); code != 403 {
			t.Errorf("a rep's targets page: %d", code)
		}
		if resp, _ := rep.post("/forecast/overrides", url.Values{"rep": {bram.ID.String()}, "period": {"2026-02"}, "amount": {"1"}}, false); resp.StatusCode != 403 {
			t.Errorf("a rep's override: %d", resp.StatusCode)
		}
		if _, body := rep.get("/forecast?from=2026-01&to=2026-04&period=2026-02"); strings.Contains(body, "B closes early") || !strings.Contains(body, `data-testid="attainment-table"`) {
			t.Errorf("a rep sees the manager's note, or no targets")
		}
	})
}

// History: a snapshot on demand, the waterfall since it, a bar's deals; conversion renders.
func TestHistoryAndConversionPages(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		a, _, _, _ := forecastData(t, s)
		c := s.client()
		c.get("/forecast/history")
		resp, _ := c.post("/forecast/snapshots", url.Values{"return": {"from=2026-01&to=2026-04"}}, false)
		if resp.StatusCode != 303 {
			t.Fatalf("snapshot %d", resp.StatusCode)
		}
		s.store.Now = func() time.Time { return time.Date(2026, 2, 11, 9, 0, 0, 0, time.UTC) }
		if _, err := s.store.UpdateActivity(context.Background(), a.ID, models.ActivityChanges{EstimatedAmount: ptrTo(15000.0)}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		code, body := c.get(resp.Header.Get("Location"))
		if code != 200 || !strings.Contains(body, "Snapshot taken.") || !strings.Contains(body, `data-testid="snapshot"`) {
			t.Fatalf("history %d", code)
		}
		up := between(body, `data-bar="amount-up"`, "</tr>")
		if !strings.Contains(up, "+ € 5,000") || !strings.Contains(body, `data-testid="waterfall-bar" data-bar="amount-up"`) {
			t.Errorf("amount-up row %s", up)
		}
		link := regexp.MustCompile(`href="(/forecast/history/deals\?bar=amount-up[^"]*)"`).FindStringSubmatch(body)
		if link == nil {
			t.Fatal("no link to the bar's deals")
		}
		code, body = c.get(strings.ReplaceAll(link[1], "&amp;", "&"))
		if code != 200 || !strings.Contains(body, "Deal A") || !strings.Contains(body, `data-testid="waterfall-delta">+ € 5,000<`) {
			t.Errorf("deals %d %s", code, between(body, `data-testid="waterfall-deals"`, "</table>"))
		}
		if code, _ := c.get("/forecast/history?since=yesterday"); code != 400 {
			t.Errorf("a malformed moment: %d", code)
		}
		code, body = c.get("/forecast/conversion")
		if code != 200 || !strings.Contains(body, `data-testid="funnel-chart"`) || !strings.Contains(body, `data-testid="funnel-stage"`) {
			t.Errorf("conversion %d", code)
		}
	})
}

// Admins enter and import rates; a deal without one is flagged on the board's column header
// and on the forecast.
func TestCurrenciesAdmin(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		forecastData(t, s)
		pipe, phases := fixture(t, s.store)
		qual := phases["Qualification"].ID
		d := models.NewDate(2026, 2, 25)
		if _, err := s.store.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{Subject: ptrTo("Pound deal"),
			PipelineID: &pipe.ID, PhaseID: &qual, Currency: ptrTo("GBP"), EstimatedAmount: ptrTo(1000.0), ExpectedOrderDate: &d}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		_, body := c.get("/board?pipeline=" + pipe.ID.String())
		if !strings.Contains(body, `data-testid="column-norate">1 without rate<`) {
			t.Errorf("the board does not flag the pound deal")
		}
		_, body = c.get("/forecast?from=2026-01&to=2026-04")
		if !strings.Contains(body, `data-testid="missing-rates"`) || !strings.Contains(body, `data-currency="GBP"`) {
			t.Errorf("the forecast does not flag the pound deal")
		}
		_, body = c.get("/forecast/board?from=2026-01&to=2026-04")
		if feb := between(body, `id="month-2026-02"`, "</header>"); !strings.Contains(feb, `data-testid="column-norate">1 without rate<`) {
			t.Errorf("the forecast board's February does not flag the pound deal: %s", feb)
		}
		if code, _ := c.get("/admin/currencies"); code != 403 {
			t.Errorf("a manager's currencies page: %d", code)
		}
		_, admin := authtest.Login(t, s.store, models.RoleAdmin, nil)
		c.useSession(admin)
		if code, _ := c.get("/admin/currencies"); code != 200 {
			t.Fatalf("currencies page %d", code)
		}
		resp, body := c.post("/admin/currencies/rates", url.Values{"currency": {"GBP"}, "day": {"2026-01-01"}, "rate": {"abc"}}, false)
		if resp.StatusCode != 400 || !strings.Contains(body, `value="abc"`) {
			t.Errorf("a bad rate %d", resp.StatusCode)
		}
		resp, _ = c.post("/admin/currencies/rates", url.Values{"currency": {"gbp"}, "day": {"2026-01-01"}, "rate": {"1.2"}}, false)
		if resp.StatusCode != 303 {
			t.Fatalf("add rate %d", resp.StatusCode)
		}
		// Import: a bad line refuses the file; a good file replaces and adds.
		if code, body := c.upload(t, "/admin/currencies/import", "currency,date,rate\nGBP,2026-02-01,1.15\nUSD,2026-02-01,-1\n"); code != 400 || !strings.Contains(body, "Line 2") {
			t.Errorf("bad import %d", code)
		}
		if code, _ := c.upload(t, "/admin/currencies/import", "date,currency,rate\n2026-02-01,GBP,1.15\n2026-02-01,USD,0.92\n"); code != 303 {
			t.Errorf("import %d", code)
		}
		_, body = c.get("/board?pipeline=" + pipe.ID.String())
		if strings.Contains(body, `data-testid="column-norate"`) {
			t.Errorf("still flagged after the rates came")
		}
		_, body = c.get("/forecast?from=2026-01&to=2026-04")
		// February: 10,000 + 20,000 + 1,000 GBP at 1.15 (the rate from 1 February on).
		feb := between(between(body, `data-testid="periods-table"`, "</table>"), "Feb 2026", "</tr>")
		if strings.Contains(body, `data-testid="missing-rates"`) || !strings.Contains(feb, "€ 31,150") {
			t.Errorf("forecast after the rates: %s", feb)
		}
	})
}

// upload posts a CSV file as the form field "file" (with the page's CSRF token) and returns the
// status and body.
func (c *client) upload(t *testing.T, path, content string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("_csrf", c.csrf)
	f, _ := w.CreateFormFile("file", "rates.csv")
	f.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", c.base+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readCSV(r io.Reader) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	return cr.ReadAll()
}

// between is the text of body from the first start to the next end after it ("" if none).
func between(body, start, end string) string {
	i := strings.Index(body, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

func attainmentRow(t *testing.T, body, rep string) string {
	t.Helper()
	row := between(body, `data-testid="attainment-row" data-rep="`+rep+`"`, "</tr>")
	if row == "" {
		t.Fatalf("no attainment row for %s", rep)
	}
	return row
}
