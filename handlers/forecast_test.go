package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/authtest"
)

// forecastData adds two open opportunities, as of 10 February 2026: A (Qualification, 10,000,
// expected 20 February, Anna: weighted 1,000) and B (Proposal, 20,000, expected 28 February,
// Bram: weighted 6,000).
func forecastData(t *testing.T, s *server) (a, b *models.Activity, anna, bram models.Employee) {
	t.Helper()
	ctx := context.Background()
	s.store.Now = func() time.Time { return time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC) }
	pipe, phases := fixture(t, s.store)
	reps, _ := s.store.Employees(ctx)
	anna, bram = reps[0], reps[1]
	mk := func(subject, phase string, amount float64, day int, rep models.Employee) *models.Activity {
		d := models.NewDate(2026, 2, day)
		id := phases[phase].ID
		opp, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID, PhaseID: &id,
			EstimatedAmount: &amount, ExpectedOrderDate: &d, SalesRepresentativeID: &rep.ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		return opp
	}
	return mk("Deal A", "Qualification", 10000, 20, anna), mk("Deal B", "Proposal", 20000, 28, bram), anna, bram
}

func TestForecastPageAndCSVShowTheSameFigures(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		_, _, _, bram := forecastData(t, s)
		c := s.client()
		code, body := c.get("/forecast?from=2026-01&to=2026-04")
		if code != 200 {
			t.Fatalf("forecast %d: %s", code, body)
		}
		for _, want := range []string{`data-testid="forecast-chart"`, `<th scope="row">Feb 2026`, `<th scope="row">Apr 2026`,
			`data-testid="sum-weighted">€ 7,000<`, `href="/forecast" aria-current="page"`, `data-testid="chart-segment"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}

		// The filter is the URL: Bram alone weighs 6,000.
		_, body = c.get("/forecast?from=2026-01&to=2026-04&rep=" + bram.ID.String())
		if !strings.Contains(body, `data-testid="sum-weighted">€ 6,000<`) {
			t.Errorf("rep filter not applied")
		}

		resp, err := c.http.Get(c.base + "/forecast.csv?from=2026-01&to=2026-04")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		r := csv.NewReader(resp.Body)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// The periods table: Period, Open, Estimated, Weighted, Best case, Commit, ...
		var feb []string
		section := ""
		for _, rec := range recs {
			if len(rec) == 1 {
				section = rec[0]
			}
			if section == "Forecast per period" && rec[0] == "Feb 2026" {
				feb = rec
			}
		}
		if want := []string{"Feb 2026", "2", "30000.00", "7000.00", "20000.00", "0.00", "0", "0.00", "0", "0.00", ""}; strings.Join(feb, "|") != strings.Join(want, "|") {
			t.Errorf("CSV February %v, want %v", feb, want)
		}
		if !regexp.MustCompile(`<td><a href="/forecast/deals\?[^"]*category=BestCase[^"]*">€ 20,000</a></td>`).MatchString(body) {
			t.Errorf("page lacks the best case the CSV has")
		}

		// Pipeline health comes after the figures (htmx), or as its own page.
		if !strings.Contains(body, `hx-get="/forecast/health?from=2026-01&amp;rep=`+bram.ID.String()) || strings.Contains(body, `id="health-table"`) {
			t.Errorf("page does not load pipeline health after the figures")
		}
		code, health := c.get("/forecast/health?from=2026-01&to=2026-04")
		if code != 200 || !strings.Contains(health, `data-testid="health-table"`) || !strings.Contains(health, `<th scope="row">Sales · Qualification`) {
			t.Errorf("health %d", code)
		}
		if !hasRecord(recs, "Pipeline health per phase (from the move history)") {
			t.Errorf("CSV lacks pipeline health")
		}

		// An unusable range shows the default one and says why.
		code, body = c.get("/forecast?from=2026-13")
		if code != 200 || !strings.Contains(body, `data-testid="forecast-error"`) {
			t.Errorf("bad range: %d", code)
		}
	})
}

func TestForecastBoardMovesTheExpectedDate(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		a, b, _, _ := forecastData(t, s)
		c := s.client()
		code, body := c.get("/forecast/board?from=2026-01&to=2026-04")
		// Overdue and No date, then the four months.
		if code != 200 || strings.Count(body, `data-testid="column"`) != 6 || !strings.Contains(body, `id="card-`+b.ID.String()) ||
			!strings.Contains(body, `id="month-overdue"`) || !strings.Contains(body, `id="month-nodate"`) {
			t.Fatalf("board %d", code)
		}
		// Without a range the board starts at the current month (10 February 2026).
		if _, body := c.get("/forecast/board"); strings.Contains(body, `id="month-2026-01"`) || !strings.Contains(body, `id="month-2026-02"`) ||
			!strings.Contains(body, `id="month-2027-01"`) {
			t.Fatal("the default forecast board does not start at the current month")
		}
		// A drag posts the target column's drop field, the month.
		resp, body := c.post("/forecast/board/opportunities/"+b.ID.String()+"/move",
			url.Values{"month": {"2026-04"}, "from_count": {"2"}, "to_count": {"1"}, "return": {"from=2026-01&to=2026-04"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("move %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{`id="month-2026-04"`, `id="month-2026-02"`, `hx-swap-oob="true"`, `data-value="2026-04-28"`, "28 April 2026"} {
			if !strings.Contains(body, want) {
				t.Errorf("move answer lacks %s", want)
			}
		}
		got, _ := s.store.Activity(context.Background(), b.ID)
		if got.ExpectedOrderDate.String() != "2026-04-28" || got.Version != 2 {
			t.Fatalf("stored %v version %d", got.ExpectedOrderDate, got.Version)
		}
		// The "Move to" form without JavaScript: a redirect back to the same board.
		resp, _ = c.post("/forecast/board/opportunities/"+a.ID.String()+"/move", url.Values{"month": {"2026-03"}, "return": {"from=2026-01&to=2026-04"}}, false)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/forecast/board?") {
			t.Fatalf("plain move %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got, _ := s.store.Activity(context.Background(), a.ID); got.ExpectedOrderDate.String() != "2026-03-20" {
			t.Fatalf("plain move stored %v", got.ExpectedOrderDate)
		}
		// To No date and back: the expected date goes and comes back on the month's last day.
		resp, body = c.post("/forecast/board/opportunities/"+b.ID.String()+"/move",
			url.Values{"month": {"nodate"}, "return": {"from=2026-01&to=2026-04"}}, true)
		if got, _ := s.store.Activity(context.Background(), b.ID); resp.StatusCode != 200 || got.ExpectedOrderDate != nil ||
			!strings.Contains(body, `id="month-nodate"`) || !strings.Contains(body, `id="month-2026-04"`) {
			t.Fatalf("to no date %d: %v", resp.StatusCode, got.ExpectedOrderDate)
		}
		if _, body := c.get("/forecast/board/months/nodate/cards?from=2026-01&to=2026-04"); !strings.Contains(body, `id="card-`+b.ID.String()) {
			t.Fatal("No date's cards lack the card")
		}
		resp, _ = c.post("/forecast/board/opportunities/"+b.ID.String()+"/move",
			url.Values{"month": {"2026-04"}, "return": {"from=2026-01&to=2026-04"}}, true)
		if got, _ := s.store.Activity(context.Background(), b.ID); resp.StatusCode != 200 || got.ExpectedOrderDate.String() != "2026-04-30" {
			t.Fatalf("back from no date %d: %v", resp.StatusCode, got.ExpectedOrderDate)
		}
		// The card's category form: set, then back to the phase's.
		resp, body = c.post("/forecast/board/opportunities/"+a.ID.String()+"/category",
			url.Values{"forecast_category": {"Commit"}, "version": {"2"}, "return": {"from=2026-01&to=2026-04"}}, true)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="card-category" title="Forecast category">Commit<`) {
			t.Fatalf("category %d: %s", resp.StatusCode, body)
		}
		if got, _ := s.store.Activity(context.Background(), a.ID); got.ForecastCategory == nil || *got.ForecastCategory != "Commit" {
			t.Fatalf("category stored %v", got.ForecastCategory)
		}
		resp, _ = c.post("/forecast/board/opportunities/"+a.ID.String()+"/category", url.Values{"forecast_category": {"Certain"}, "version": {"3"}}, true)
		if resp.StatusCode != 400 {
			t.Fatalf("unknown category: %d", resp.StatusCode)
		}
		resp, _ = c.post("/forecast/board/opportunities/"+a.ID.String()+"/category", url.Values{"forecast_category": {""}, "version": {"1"}}, true)
		if resp.StatusCode != 409 {
			t.Fatalf("stale card: %d", resp.StatusCode)
		}
		// Without the CSRF token nothing moves.
		c.csrf = ""
		resp, _ = c.post("/forecast/board/opportunities/"+a.ID.String()+"/move", url.Values{"month": {"2026-01"}}, true)
		if resp.StatusCode != 403 {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
		if resp, _ = c.post("/forecast/board/opportunities/"+a.ID.String()+"/move", url.Values{"month": {"soon"}}, true); resp.StatusCode == 200 {
			t.Fatalf("bad month accepted")
		}
	})
}

func hasRecord(recs [][]string, first string) bool {
	for _, r := range recs {
		if len(r) > 0 && r[0] == first {
			return true
		}
	}
	return false
}

// What a rep's forecast covers follows the one read rule (models.ReadScope): with the team's
// visibility (the default) the team's deals, with VisibilityOwn only the rep's own, whatever rep
// the URL asks for.
func TestForecastFollowsTheReadRule(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		_, _, anna, bram := forecastData(t, s)
		c := s.client()
		_, repCookie := authtest.Login(t, s.store, models.RoleRep, &anna.ID)
		c.useSession(repCookie)
		weighted := func(path string) string {
			code, body := c.get(path)
			if code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			i := strings.Index(body, `data-testid="sum-weighted">`)
			if i < 0 {
				t.Fatalf("%s: no weighted sum", path)
			}
			rest := body[i+len(`data-testid="sum-weighted">`):]
			return rest[:strings.IndexByte(rest, '<')]
		}
		team := weighted("/forecast?from=2026-01&to=2026-04")
		if got := weighted("/forecast?from=2026-01&to=2026-04&rep=" + anna.ID.String()); got != "€ 1,000" {
			t.Fatalf("Anna's own: %s", got)
		}
		if team == "€ 1,000" {
			t.Fatalf("team visibility shows only Anna's deals: %s", team)
		}
		s.store.RepVisibility = models.VisibilityOwn
		defer func() { s.store.RepVisibility = models.VisibilityTeam }()
		for _, path := range []string{"/forecast?from=2026-01&to=2026-04", "/forecast?from=2026-01&to=2026-04&rep=" + bram.ID.String()} {
			if got := weighted(path); got != "€ 1,000" && !(strings.Contains(path, bram.ID.String()) && got == "€ 0") {
				t.Fatalf("%s as Anna with own visibility: %s", path, got)
			}
		}
	})
}

var hrefOf = regexp.MustCompile(`href="(/forecast/deals\?[^"]+)"[^>]*data-testid="sum-weighted"`)

// Every figure of the forecast links to the deals behind it, under the same rules.
func TestForecastFiguresLinkToTheirDeals(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		a, b, _, bram := forecastData(t, s)
		c := s.client()
		_, body := c.get("/forecast?from=2026-01&to=2026-04")
		m := hrefOf.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("the weighted total links nowhere")
		}
		deals := func(href string) string {
			t.Helper()
			code, page := c.get(strings.ReplaceAll(href, "&amp;", "&"))
			if code != 200 {
				t.Fatalf("%s: %d %s", href, code, page)
			}
			return page
		}
		all := deals(m[1])
		if !strings.Contains(all, ">Deal A<") || !strings.Contains(all, ">Deal B<") || strings.Count(all, `data-testid="deal-row"`) != 2 {
			t.Fatalf("the weighted total's deals: %s", all)
		}
		// Bram's row of the rep table: only his deal (his open figures; the targets' won figure
		// links to his deals too, and comes first).
		rep := regexp.MustCompile(`href="(/forecast/deals\?[^"]*k=open[^"]*rep=` + bram.ID.String() + `[^"]*)"`).FindStringSubmatch(body)
		if rep == nil {
			t.Fatal("the rep table links nowhere")
		}
		if got := deals(rep[1]); strings.Contains(got, ">Deal A<") || !strings.Contains(got, ">Deal B<") {
			t.Fatalf("Bram's deals: %s", got)
		}
		// Nothing is won yet; once Deal A is, the won link lists it.
		_, phases := fixture(t, s.store)
		if got := deals("/forecast/deals?k=won&from=2026-01&to=2026-04"); strings.Contains(got, `data-testid="deal-row"`) {
			t.Fatalf("won before any win: %s", got)
		}
		if _, err := s.store.MoveActivity(context.Background(), a.ID, phases["Won"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if got := deals("/forecast/deals?k=won&from=2026-01&to=2026-04"); !strings.Contains(got, ">Deal A<") || strings.Contains(got, ">Deal B<") {
			t.Fatalf("won: %s", got)
		}
		if code, _ := c.get("/forecast/deals?k=weird"); code != 400 && code != 422 {
			t.Fatalf("an unknown kind of figure: %d", code)
		}
		_ = b
	})
}

// On a snapshot's forecast every figure taken from the snapshot (summary, chart, tables,
// targets) links to its deals naming the snapshot, and the deals page says they are today's
// deals, not the snapshot's, with a link back to the snapshot's forecast; the loss analysis
// (today's deals, on a snapshot's page too) names none. The same figure of today's forecast has
// no such note; an unusable snapshot id is a 4xx.
func TestSnapshotFiguresLinkToTodaysDealsSayingSo(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		a, b, _, _ := forecastData(t, s)
		feb, endFeb := models.NewDate(2026, 2, 1), models.NewDate(2026, 2, 28)
		if _, err := s.store.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptrTo(50000.0), StartDate: &feb, EndDate: &endFeb}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.store.TakeSnapshot(ctx, models.SnapshotManual, "snapshot links", models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		// After the snapshot Deal A grows from 10,000 to 15,000 (weighted 1,500) and Deal B is
		// lost: today's open deals weigh 1,500, the snapshot's 7,000.
		_, phases := fixture(t, s.store)
		if _, err := s.store.UpdateActivity(ctx, a.ID, models.ActivityChanges{EstimatedAmount: ptrTo(15000.0)}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.MoveActivity(ctx, b.ID, phases["Lost"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		id := snap.ID.String()
		code, body := c.get("/forecast?from=2026-01&to=2026-04&snapshot=" + id)
		if code != 200 || !strings.Contains(body, `data-testid="sum-weighted">€ 7,000<`) {
			t.Fatalf("the snapshot's forecast %d: %s", code, between(body, `data-testid="forecast-summary"`, "</dl>"))
		}
		if !strings.Contains(body, `id="attainment-table"`) || !strings.Contains(body, `id="loss-reason-table"`) {
			t.Error("the snapshot's forecast lacks the targets or the loss analysis, whose links are checked too")
		}
		links := regexp.MustCompile(`href="(/forecast/deals\?[^"]*)"`).FindAllStringSubmatch(body, -1)
		if len(links) == 0 {
			t.Fatal("the snapshot's figures link nowhere")
		}
		for _, l := range links {
			loss := strings.Contains(l[1], "reason=") || strings.Contains(l[1], "competitor=")
			if named := strings.Contains(l[1], "snapshot="+id); named == loss {
				t.Errorf("a figure of the snapshot links to %s (of the loss analysis: %v)", l[1], loss)
			}
		}
		m := hrefOf.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("the weighted total links nowhere")
		}
		code, deals := c.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		if code != 200 {
			t.Fatalf("%s: %d %s", m[1], code, deals)
		}
		note := between(deals, `data-testid="deals-snapshot-note"`, "</p>")
		if !strings.Contains(deals, `role="status" data-testid="deals-snapshot-note"`) || !strings.Contains(note, "as they are today") ||
			!strings.Contains(note, "10 February 2026, 09:00 UTC") ||
			!regexp.MustCompile(`href="/forecast\?[^"]*snapshot=`+id+`[^"]*"`).MatchString(note) {
			t.Errorf("the snapshot's deals page says nothing of the snapshot: %q", note)
		}
		if !strings.Contains(deals, `data-testid="deals-weighted">€ 1,500<`) {
			t.Errorf("the deals listed are not today's: %s", between(deals, `data-testid="deals-totals"`, "</p>"))
		}

		// Today's forecast: the same figure, no snapshot in its link, no note on its deals.
		_, body = c.get("/forecast?from=2026-01&to=2026-04")
		m = hrefOf.FindStringSubmatch(body)
		if m == nil || strings.Contains(m[1], "snapshot=") {
			t.Fatalf("today's weighted total links to %v", m)
		}
		if code, deals := c.get(strings.ReplaceAll(m[1], "&amp;", "&")); code != 200 || strings.Contains(deals, "deals-snapshot-note") {
			t.Errorf("today's deals page %d says it is a snapshot's", code)
		}

		for bad, want := range map[string]int{"nonsense": 400, uuid.NewString(): 404} {
			if code, body := c.get("/forecast/deals?k=open&from=2026-01&to=2026-04&snapshot=" + bad); code != want || !strings.Contains(body, "snapshot") {
				t.Errorf("deals of snapshot %q: %d, want %d with a message: %s", bad, code, want, body)
			}
		}
	})
}

// The loss analysis: lost amount and count by reason and by competitor over the range, as a
// chart and as tables (also in the CSV).
func TestForecastLossAnalysis(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		a, b, _, _ := forecastData(t, s)
		ctx := context.Background()
		_, phases := fixture(t, s.store)
		reasons, _ := s.store.LostReasons(ctx)
		rivals, _ := s.store.Competitors(ctx)
		for _, x := range []*models.Activity{a, b} {
			if _, err := s.store.MoveActivity(ctx, x.ID, phases["Lost"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.store.UpdateActivity(ctx, b.ID, models.ActivityChanges{LostReasonID: &reasons[0].ID, LostToCompetitorID: &rivals[1].ID}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		_, body := c.get("/forecast?from=2026-01&to=2026-04")
		table := func(id string) string {
			i := strings.Index(body, `id="`+id+`"`)
			if i < 0 {
				t.Fatalf("no %s", id)
			}
			return body[i : i+strings.Index(body[i:], "</table>")]
		}
		byReason := table("loss-reason-table")
		for _, want := range []string{reasons[0].Name, "No reason given", "€ 20,000", "€ 10,000"} {
			if !strings.Contains(byReason, want) {
				t.Errorf("by reason lacks %q: %s", want, byReason)
			}
		}
		// Most lost amount first: the reason of the € 20,000 deal before "No reason given".
		if strings.Index(byReason, reasons[0].Name) > strings.Index(byReason, "No reason given") {
			t.Error("reasons are not by lost amount")
		}
		if byRival := table("loss-competitor-table"); !strings.Contains(byRival, rivals[1].Name) || !strings.Contains(byRival, "No competitor") {
			t.Errorf("by competitor: %s", byRival)
		}
		if n := strings.Count(body, `data-testid="loss-bar"`); n != 4 {
			t.Errorf("%d bars, want 2 reasons + 2 competitors", n)
		}
		if _, csv := c.get("/forecast.csv?from=2026-01&to=2026-04"); !strings.Contains(csv, "Lost by reason") || !strings.Contains(csv, reasons[0].Name+",1,20000.00") {
			t.Errorf("CSV lacks the loss analysis: %s", csv)
		}
	})
}

// The deals behind a figure show each amount in its own currency and total them in the
// reporting currency, each deal at its day's rate as the forecast converts it, so that the
// total is the figure; deals without a rate are totalled per currency. Never a sum of mixed
// currencies: A (€ 10,000) and B ($ 20,000 at 0.9) weigh € 1,000 + € 5,400; C (£ 5,000, no
// GBP rate) stands apart.
func TestForecastDealsTotalInTheReportingCurrency(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		a, b, _, _ := forecastData(t, s)
		if err := s.store.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: models.NewDate(2026, 1, 1), Rate: 0.9}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.UpdateActivity(ctx, b.ID, models.ActivityChanges{Currency: ptrTo("USD")}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		pipe, phases := fixture(t, s.store)
		qual, day := phases["Qualification"].ID, models.NewDate(2026, 3, 5)
		if _, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptrTo("Deal C"), PipelineID: &pipe.ID, PhaseID: &qual,
			Currency: ptrTo("GBP"), EstimatedAmount: ptrTo(5000.0), ExpectedOrderDate: &day}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		_, forecast := c.get("/forecast?from=2026-01&to=2026-04")
		if !strings.Contains(forecast, `data-testid="sum-weighted">€ 6,400<`) {
			t.Fatalf("the forecast's weighted total is not € 6,400")
		}
		m := hrefOf.FindStringSubmatch(forecast)
		if m == nil {
			t.Fatal("the weighted total links nowhere")
		}
		code, body := c.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		if code != 200 {
			t.Fatalf("deals %d: %s", code, body)
		}
		row := func(subject string) string {
			t.Helper()
			i := strings.Index(body, ">"+subject+"<")
			if i < 0 {
				t.Fatalf("no row of %s", subject)
			}
			return body[i : i+strings.Index(body[i:], "</tr>")]
		}
		for subject, want := range map[string][]string{
			"Deal A": {`data-testid="deal-estimated">€ 10,000<`, `data-testid="deal-weighted">€ 1,000<`},
			"Deal B": {`data-testid="deal-estimated">$ 20,000<`, `data-testid="deal-weighted">$ 6,000<`},
			"Deal C": {`data-testid="deal-estimated">£ 5,000<`, `data-testid="deal-weighted">£ 500<`},
		} {
			for _, w := range want {
				if r := row(subject); !strings.Contains(r, w) {
					t.Errorf("%s's row lacks %s: %s", subject, w, r)
				}
			}
		}
		for _, want := range []string{`data-testid="deals-count">3 cards<`, `data-testid="deals-estimated">€ 28,000<`, `data-testid="deals-weighted">€ 6,400<`,
			`data-currency="GBP"`, `without an exchange rate: Σ estimated £ 5,000, Σ weighted £ 500`} {
			if !strings.Contains(body, want) {
				t.Errorf("the totals lack %s", want)
			}
		}
		if strings.Contains(body, "€ 35,000") || strings.Contains(body, "€ 30,000") {
			t.Error("the page sums amounts of mixed currencies")
		}
		_ = a
	})
}

// The deals behind a figure come in pages of models.DealsPageSize with a "next" link, every
// deal on exactly one page; the count and totals are of all of them. On the demo, the deals
// that entered the main pipeline's first phase take two pages.
func TestForecastDealsPages(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		if err := s.store.LoadDemo(ctx, 900, nil, nil); err != nil {
			t.Fatal(err)
		}
		phases, _, err := s.store.PipelineHealth(ctx, models.HealthFilter{}, s.store.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var entered models.PhaseHealth
		for _, p := range phases {
			if p.Entered > entered.Entered {
				entered = p
			}
		}
		n := int(entered.Entered)
		if n <= models.DealsPageSize || n > 2*models.DealsPageSize {
			t.Fatalf("the demo's %s was entered by %d deals: not two pages", entered.Name, n)
		}
		c := s.client()
		rowID := regexp.MustCompile(`<tr data-testid="deal-row"><th scope="row"><a href="/board/activities/([0-9a-f-]+)/edit"`)
		seen := map[string]bool{}
		path := "/forecast/deals?k=entered&phase=" + entered.ID.String()
		for i, want := range []struct {
			rows  int
			shown string
			next  bool
		}{{models.DealsPageSize, fmt.Sprintf("Deals 1–500 of %d", n), true}, {n - models.DealsPageSize, fmt.Sprintf("Deals 501–%d of %d", n, n), false}} {
			code, body := c.get(path)
			if code != 200 {
				t.Fatalf("page %d: %d %s", i+1, code, body)
			}
			ids := rowID.FindAllStringSubmatch(body, -1)
			if len(ids) != want.rows || !strings.Contains(body, `data-testid="deals-shown">`+want.shown+`<`) ||
				!strings.Contains(body, fmt.Sprintf(`data-testid="deals-count">%d cards<`, n)) {
				t.Fatalf("page %d: %d rows, want %d, shown %q", i+1, len(ids), want.rows, want.shown)
			}
			for _, id := range ids {
				if seen[id[1]] {
					t.Fatalf("page %d repeats %s", i+1, id[1])
				}
				seen[id[1]] = true
			}
			next := regexp.MustCompile(`<a href="([^"]+)" rel="next" data-testid="deals-next">`).FindStringSubmatch(body)
			if (next != nil) != want.next {
				t.Fatalf("page %d: next link %v, want %v", i+1, next, want.next)
			}
			if next != nil {
				path = strings.ReplaceAll(next[1], "&amp;", "&")
				if !strings.Contains(path, "page=2") || !strings.Contains(path, "k=entered") {
					t.Fatalf("next link %s", path)
				}
			}
		}
		for _, bad := range []string{"0", "-1", "two"} {
			if code, _ := c.get("/forecast/deals?k=entered&phase=" + entered.ID.String() + "&page=" + bad); code != 400 {
				t.Errorf("page %s: %d, want 400", bad, code)
			}
		}
	})
}

// Every bar of the forecast's charts (the weighted stacks, the won bars, the gaps to target and
// the loss analysis's bars) is a link, named by what it shows, to the deals behind it, and
// those deals sum to the bar: Σ weighted for a stack, Σ estimated for won and lost bars. On the
// demo, with a team target for this month.
func TestForecastChartBarsLinkToTheirDeals(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		if err := s.store.LoadDemo(ctx, 150, nil, nil); err != nil {
			t.Fatal(err)
		}
		today := s.store.Today()
		month := models.NewDate(today.Year(), today.Month(), 1)
		end := models.NewDate(today.Year(), today.Month()+1, 0)
		if _, err := s.store.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptrTo(1e7), StartDate: &month, EndDate: &end}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		path := "/forecast?from=" + models.NewDate(today.Year(), today.Month()-6, 1).Format("2006-01") + "&to=" + models.NewDate(today.Year(), today.Month()+2, 1).Format("2006-01")
		code, body := c.get(path)
		if code != 200 {
			t.Fatalf("forecast %d", code)
		}
		bar := regexp.MustCompile(`<a href="(/forecast/deals\?[^"]+)" aria-label="([^"]+): list the deals" class="fc-bar-link" data-testid="[a-z-]+-link"><rect [^>]*data-testid="([a-z-]+)"><title>([^<]+)</title></rect></a>`)
		amount := regexp.MustCompile(`€ [0-9,]+`)
		bars := bar.FindAllStringSubmatch(body, -1)
		seen := map[string]int{}
		for _, m := range bars {
			href, name, kind, title := strings.ReplaceAll(m[1], "&amp;", "&"), m[2], m[3], m[4]
			seen[kind]++
			if name != title {
				t.Errorf("a %s link is named %q, its bar %q", kind, name, title)
			}
			_, deals := c.get(href)
			total := func(testid string) string {
				t.Helper()
				v := regexp.MustCompile(`data-testid="` + testid + `">([^<]+)<`).FindStringSubmatch(deals)
				if v == nil {
					t.Fatalf("%s: no %s", href, testid)
				}
				return v[1]
			}
			want := amount.FindString(title)
			switch kind {
			case "chart-segment":
				if got := total("deals-weighted"); got != want {
					t.Errorf("%s: its deals weigh %s (%s)", title, got, href)
				}
			case "chart-won", "loss-bar":
				if got := total("deals-estimated"); got != want {
					t.Errorf("%s: its deals sum to %s (%s)", title, got, href)
				}
			case "chart-gap":
				// The gap is target − won: its link lists the period's won deals.
				if !strings.Contains(href, "k=won") || !strings.Contains(title, "won "+total("deals-estimated")) {
					t.Errorf("%s: links to %s, whose deals sum to %s", title, href, total("deals-estimated"))
				}
			}
		}
		// The targets' figures of deals link too: attainment and gap to the won deals, coverage to
		// the open ones (cells 6, 7, 8 of the team's row).
		i := strings.Index(body, `data-testid="attainment-total"`)
		team := body[i : i+strings.Index(body[i:], "</tr>")]
		for cell, kind := range map[string]string{"cell-6": "k=won", "cell-7": "k=open", "cell-8": "k=won"} {
			if !regexp.MustCompile(`data-testid="` + cell + `"[^>]*><a href="/forecast/deals\?[^"]*` + kind).MatchString(team) {
				t.Errorf("the team's %s links to no %s deals: %s", cell, kind, team)
			}
		}
		for _, kind := range []string{"chart-segment", "chart-won", "chart-gap", "loss-bar"} {
			if seen[kind] == 0 || seen[kind] != strings.Count(body, `data-testid="`+kind+`"`) {
				t.Errorf("%d of the %d %s bars link to their deals", seen[kind], strings.Count(body, `data-testid="`+kind+`"`), kind)
			}
		}
	})
}

// The demo's move history makes pipeline health and conversion say something to a newcomer: on
// the pages as they open (default filters), every open phase of the main pipeline has a win
// rate and an average stay above zero, every stage of the funnel converts some of the one
// before, and the cohort has a win rate and a cycle time.
func TestDemoPipelineHealthAndConversionSaySomething(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		if err := s.store.LoadDemo(context.Background(), 150, nil, nil); err != nil {
			t.Fatal(err)
		}
		pipe, phases := fixture(t, s.store)
		c := s.client()
		cell := regexp.MustCompile(`<td>(?:<a [^>]*>)?([^<]*)`)
		_, health := c.get("/forecast/health")
		open := 0
		for _, p := range phases {
			if p.IsTerminal || !p.IsActive {
				continue
			}
			open++
			i := strings.Index(health, `<th scope="row">`+pipe.Name+" · "+p.Name)
			if i < 0 {
				t.Fatalf("pipeline health has no row for %s", p.Name)
			}
			row := health[i : i+strings.Index(health[i:], "</tr>")]
			cells := cell.FindAllStringSubmatch(row, -1) // Entered, Won since, Win rate, Average days, Open now, Rotting
			if len(cells) != 6 {
				t.Fatalf("%s: %d cells: %s", p.Name, len(cells), row)
			}
			if rate := strings.TrimSpace(cells[2][1]); rate == "—" || strings.Trim(digits(rate), "0") == "" {
				t.Errorf("%s: win rate %q", p.Name, rate)
			}
			if days := strings.TrimSpace(cells[3][1]); days == "—" || strings.Trim(digits(days), "0") == "" {
				t.Errorf("%s: average days %q", p.Name, days)
			}
		}
		if open < 2 {
			t.Fatalf("the demo's main pipeline has %d open phases", open)
		}

		code, conv := c.get("/forecast/conversion")
		if code != 200 {
			t.Fatalf("conversion %d", code)
		}
		for _, id := range []string{"sum-win-rate", "sum-cycle"} {
			v := regexp.MustCompile(`data-testid="` + id + `">([^<]*)<`).FindStringSubmatch(conv)
			if v == nil || v[1] == "—" || strings.Trim(digits(v[1]), "0") == "" {
				t.Errorf("conversion's %s: %v", id, v)
			}
		}
		stages := regexp.MustCompile(`data-testid="funnel-stage"><title>([^<]*)</title>`).FindAllStringSubmatch(conv, -1)
		if len(stages) != open+1 { // the open phases, then Won
			t.Fatalf("%d funnel stages, want %d", len(stages), open+1)
		}
		converts := regexp.MustCompile(`; ([0-9.]+)% of those in `)
		for _, st := range stages[1:] {
			m := converts.FindStringSubmatch(st[1])
			if m == nil || strings.Trim(digits(m[1]), "0") == "" {
				t.Errorf("a funnel stage converts nothing: %s", st[1])
			}
		}
	})
}

// The loss analysis converts like the forecast: a deal lost in USD counts in the reporting
// currency at its day's rate, one without a rate is counted and not summed (said in a note),
// and each row's amount is what its deals page totals. A (€ 10,000) and B ($ 20,000 at 0.9)
// lost for one reason: € 28,000; C (£ 5,000, no rate) lost for none.
func TestForecastLossAnalysisConverts(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		a, b, _, _ := forecastData(t, s)
		if err := s.store.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: models.NewDate(2026, 1, 1), Rate: 0.9}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		pipe, phases := fixture(t, s.store)
		qual, day := phases["Qualification"].ID, models.NewDate(2026, 2, 25)
		gbp, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptrTo("Deal C"), PipelineID: &pipe.ID, PhaseID: &qual,
			Currency: ptrTo("GBP"), EstimatedAmount: ptrTo(5000.0), ExpectedOrderDate: &day}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		reasons, _ := s.store.LostReasons(ctx)
		for _, x := range []*models.Activity{a, b, gbp} {
			if _, err := s.store.MoveActivity(ctx, x.ID, phases["Lost"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, x := range []*models.Activity{a, b} {
			if _, err := s.store.UpdateActivity(ctx, x.ID, models.ActivityChanges{LostReasonID: &reasons[0].ID}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.store.UpdateActivity(ctx, b.ID, models.ActivityChanges{Currency: ptrTo("USD")}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		_, body := c.get("/forecast?from=2026-01&to=2026-04")
		i := strings.Index(body, `id="loss-reason-table"`)
		table := body[i : i+strings.Index(body[i:], "</table>")]
		row := func(name string) string {
			t.Helper()
			j := strings.Index(table, `<th scope="row">`+name)
			if j < 0 {
				t.Fatalf("no row %s: %s", name, table)
			}
			return table[j : j+strings.Index(table[j:], "</tr>")]
		}
		reason, none := row(reasons[0].Name), row("No reason given")
		if !strings.Contains(reason, ">€ 28,000<") {
			t.Errorf("%s: %s, want € 28,000", reasons[0].Name, reason)
		}
		if !strings.Contains(none, ">€ 0<") || !strings.Contains(none, ">1<") || !strings.Contains(none, "1 without an exchange rate") {
			t.Errorf("no reason: %s, want 1 deal, € 0, a note", none)
		}
		href := regexp.MustCompile(`<a href="([^"]+)">€ 28,000<`).FindStringSubmatch(reason)
		if href == nil {
			t.Fatal("the reason's amount links nowhere")
		}
		if _, deals := c.get(strings.ReplaceAll(href[1], "&amp;", "&")); !strings.Contains(deals, `data-testid="deals-estimated">€ 28,000<`) {
			t.Errorf("the reason's deals do not total € 28,000")
		}
	})
}

// With another reporting currency every amount of the forecast and of the forecast board's
// columns reads in it, converted (nothing says €), while a card's amount reads in its own
// currency. Reporting in USD with EUR at 1.1: A (€ 10,000) and B (€ 20,000) expected in
// February sum to $ 33,000 and weigh $ 7,700; C (€ 1,000, overdue) is $ 1,100 in the board's
// Overdue column (which summed amounts as entered).
func TestForecastInTheReportingCurrency(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		forecastData(t, s)
		if err := s.store.SetReportingCurrency(ctx, "USD", models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if err := s.store.SaveRates(ctx, []models.RateInput{{Currency: "EUR", Day: models.NewDate(2026, 1, 1), Rate: 1.1}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		pipe, phases := fixture(t, s.store)
		qual, day := phases["Qualification"].ID, models.NewDate(2026, 1, 15)
		if _, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptrTo("Deal C"), PipelineID: &pipe.ID, PhaseID: &qual,
			EstimatedAmount: ptrTo(1000.0), ExpectedOrderDate: &day}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		c := s.client()
		_, body := c.get("/forecast?from=2026-01&to=2026-04")
		for _, want := range []string{`data-testid="sum-weighted">$ 7,700<`, `<title>Feb 2026 · Sales · Proposal: $ 6,600 weighted</title>`, `>$ 33,000<`} {
			if !strings.Contains(body, want) {
				t.Errorf("the forecast lacks %s", want)
			}
		}
		if i := strings.Index(body, "€"); i >= 0 {
			t.Errorf("the forecast in USD says €: …%s…", body[max(0, i-200):i+40])
		}
		_, board := c.get("/forecast/board?from=2026-01&to=2026-04")
		column := func(id string) string {
			t.Helper()
			i := strings.Index(board, `id="`+id+`"`)
			if i < 0 {
				t.Fatalf("no column %s", id)
			}
			return board[i : i+strings.Index(board[i:], "</header>")]
		}
		if got := column("month-overdue"); !strings.Contains(got, "$ 1,100") {
			t.Errorf("the Overdue column: %s", got)
		}
		if got := column("month-2026-02"); !strings.Contains(got, "$ 33,000") || !strings.Contains(got, "$ 7,700") {
			t.Errorf("February's column: %s", got)
		}
		if !strings.Contains(board, "€ 20,000") {
			t.Error("Deal B's card does not show its own € 20,000")
		}
	})
}
