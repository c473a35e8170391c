package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

func forEachDB(t *testing.T, opportunities int, fn func(t *testing.T, s *server)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, newServer(t, d, opportunities)) })
	}
}

func TestHealth(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		code, body := s.client().get("/healthz")
		if code != 200 || !strings.Contains(body, `"status":"ok"`) {
			t.Fatalf("%d %s", code, body)
		}
		s.store.Close()
		if code, _ := s.client().get("/healthz"); code != 503 {
			t.Fatalf("healthz with the database gone: %d", code)
		}
	})
}

var countRe = regexp.MustCompile(`data-testid="column-count" data-value="(\d+)"`)

func TestBoardShowsColumnsWithDatabaseTotals(t *testing.T) {
	forEachDB(t, 120, func(t *testing.T, s *server) {
		c := s.client()
		code, body := c.get("/")
		if code != 303 {
			t.Fatalf("/ answered %d", code)
		}
		// By default the board shows the open deals: the open phases as columns, the won and
		// lost ones as drop targets.
		code, body = c.get("/board")
		pipe, _ := fixture(t, s.store)
		open, _ := s.store.Columns(context.Background(), models.BoardFilter{PipelineID: pipe.ID, Status: models.StatusOpen})
		if got := countRe.FindAllStringSubmatch(body, -1); code != 200 || len(got) != 3 || got[0][1] != fmt.Sprint(open[0].Count) ||
			!strings.Contains(body, `data-testid="drop-won"`) || !strings.Contains(body, `data-testid="drop-lost"`) {
			t.Fatalf("default board %d: %d columns", code, len(got))
		}
		code, body = c.get("/board?status=all")
		if code != 200 {
			t.Fatalf("board %d", code)
		}
		cols, _ := s.store.Columns(context.Background(), models.BoardFilter{PipelineID: pipe.ID})
		got := countRe.FindAllStringSubmatch(body, -1)
		if len(got) != len(cols) || len(cols) != 5 {
			t.Fatalf("%d column counts on the page, %d columns", len(got), len(cols))
		}
		total := 0
		for i, col := range cols {
			if got[i][1] != fmt.Sprint(col.Count) {
				t.Fatalf("column %s shows %s, database says %d", col.Phase.Name, got[i][1], col.Count)
			}
			total += int(col.Count)
			if !strings.Contains(body, ">"+col.Phase.Name) {
				t.Fatalf("phase %s missing", col.Phase.Name)
			}
		}
		if total == 0 {
			t.Fatal("the demo board is empty")
		}
		// Filters narrow the figures; a malformed filter is a clear 400, an unknown pipeline 404.
		reps, _ := s.store.Employees(context.Background())
		_, filtered := c.get("/board?status=all&rep=" + reps[0].ID.String())
		if countRe.FindAllStringSubmatch(filtered, -1)[0][1] == got[0][1] && countRe.FindAllStringSubmatch(filtered, -1)[1][1] == got[1][1] {
			t.Fatal("the rep filter changed nothing")
		}
		if code, _ := c.get("/board?pipeline=nope"); code != 400 {
			t.Fatalf("malformed pipeline: %d", code)
		}
		if code, _ := c.get("/board?pipeline=" + reps[0].ID.String()); code != 404 {
			t.Fatalf("unknown pipeline: %d", code)
		}
		if code, _ := c.get("/board?status=weird"); code != 400 {
			t.Fatalf("unknown status: %d", code)
		}
	})
}

func TestMoveByHTMXAndByPlainForm(t *testing.T) {
	forEachDB(t, 30, func(t *testing.T, s *server) {
		ctx := context.Background()
		pipe, phases := fixture(t, s.store)
		c := s.client()
		c.get("/board")
		cards, _ := s.store.Cards(ctx, models.BoardFilter{PipelineID: pipe.ID}, phases["Qualification"].ID, nil, 10)
		card := cards[0]

		// Drag to Proposal between nothing: answers with both columns out of band.
		resp, body := c.post("/board/opportunities/"+card.ID.String()+"/move", url.Values{
			"phase_id": {phases["Proposal"].ID.String()}, "from_count": {"10"}, "to_count": {"3"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("move %d %s", resp.StatusCode, body)
		}
		for _, want := range []string{`id="col-` + phases["Qualification"].ID.String() + `"`, `id="col-` + phases["Proposal"].ID.String() + `"`, `hx-swap-oob="true"`, "Moved “"} {
			if !strings.Contains(body, want) {
				t.Fatalf("move answer lacks %s", want)
			}
		}
		got, _ := s.store.Activity(ctx, card.ID)
		if got.PhaseID != phases["Proposal"].ID || *got.Probability != 30 {
			t.Fatalf("not moved: %+v", got)
		}
		// A plain form post (no JavaScript) redirects back to the same board view.
		resp, _ = c.post("/board/opportunities/"+card.ID.String()+"/move", url.Values{
			"phase_id": {phases["Negotiation"].ID.String()}, "return": {"pipeline=" + pipe.ID.String() + "&status=closed"}}, false)
		if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "status=closed") {
			t.Fatalf("plain move %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Moving into Lost asks why.
		_, body = c.post("/board/opportunities/"+card.ID.String()+"/move", url.Values{"phase_id": {phases["Lost"].ID.String()}}, true)
		if !strings.Contains(body, `data-testid="lost-panel"`) {
			t.Fatal("no lost-reason prompt after a move to Lost")
		}
		reasons, _ := s.store.LostReasons(ctx)
		resp, _ = c.post("/board/opportunities/"+card.ID.String()+"/lost", url.Values{"lost_reason": {reasons[1].ID.String()}}, true)
		got, _ = s.store.Activity(ctx, card.ID)
		if resp.StatusCode != 200 || got.LostReasonID == nil || *got.LostReasonID != reasons[1].ID {
			t.Fatalf("lost reason not saved: %d", resp.StatusCode)
		}
	})
}

func TestRefusedMovesChangeNothing(t *testing.T) {
	forEachDB(t, 10, func(t *testing.T, s *server) {
		ctx := context.Background()
		_, phases := fixture(t, s.store)
		ps, _ := s.store.SalesPipelines(ctx)
		otherPhases, _ := s.store.Phases(ctx, ps[1].ID)
		c := s.client()
		c.get("/board")
		created := newCard(t, s.store, "Refusal target")
		id := created.ID.String()
		before, _ := s.store.Activity(ctx, created.ID)
		cases := []struct {
			name   string
			path   string
			form   url.Values
			status int
			msg    string
		}{
			{"phase of another pipeline", "/board/opportunities/" + id + "/move", url.Values{"phase_id": {otherPhases[0].ID.String()}}, 400, "another pipeline"},
			{"malformed phase", "/board/opportunities/" + id + "/move", url.Values{"phase_id": {"x' OR 1=1"}}, 400, "not a valid id"},
			{"missing phase", "/board/opportunities/" + id + "/move", url.Values{}, 400, "Choose the phase"},
			{"unknown phase", "/board/opportunities/" + id + "/move", url.Values{"phase_id": {"00000000-0000-0000-0000-000000000001"}}, 400, "does not exist"},
			{"unknown card", "/board/opportunities/00000000-0000-0000-0000-000000000001/move", url.Values{"phase_id": {phases["Proposal"].ID.String()}}, 404, "no longer exists"},
			{"malformed card", "/board/opportunities/zzz/move", url.Values{"phase_id": {phases["Proposal"].ID.String()}}, 404, "No such"},
			{"empty quick add", "/board/opportunities", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "subject": {"   "}}, 400, "Subject is required"},
		}
		for _, tc := range cases {
			resp, body := c.post(tc.path, tc.form, true)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
				t.Errorf("%s: %d %q, want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.msg)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("%s: content type %s", tc.name, resp.Header.Get("Content-Type"))
			}
		}
		after, _ := s.store.Activity(ctx, created.ID)
		if after.Version != before.Version || after.PhaseID != before.PhaseID {
			t.Fatal("a refused move changed the opportunity")
		}
	})
}

func TestMutationsNeedTheCSRFToken(t *testing.T) {
	forEachDB(t, 5, func(t *testing.T, s *server) {
		pipe, phases := fixture(t, s.store)
		_ = pipe
		c := s.client()
		c.get("/board")
		good := c.csrf
		c.csrf = ""
		resp, _ := c.post("/board/opportunities", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "subject": {"sneaky"}}, true)
		if resp.StatusCode != 403 {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
		c.csrf = "forged-token"
		resp, _ = c.post("/board/opportunities", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "subject": {"sneaky"}}, true)
		if resp.StatusCode != 403 {
			t.Fatalf("forged token: %d", resp.StatusCode)
		}
		var n int64
		s.store.DB.Model(&models.Activity{}).Where("subject = ?", "sneaky").Count(&n)
		if n != 0 {
			t.Fatal("a forged request created an opportunity")
		}
		c.csrf = good
		resp, body := c.post("/board/opportunities", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "subject": {"<script>alert(1)</script> deal"}}, true)
		if resp.StatusCode != 200 || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt; deal") || strings.Contains(body, "<script>alert") {
			t.Fatalf("quick add with a token: %d, escaped: %v", resp.StatusCode, strings.Contains(body, "&lt;script&gt;"))
		}
	})
}

func TestEditPanelKeepsTypingAndReportsErrors(t *testing.T) {
	forEachDB(t, 5, func(t *testing.T, s *server) {
		ctx := context.Background()
		c := s.client()
		c.get("/board")
		opp := newCard(t, s.store, "Edit me")
		path := "/board/opportunities/" + opp.ID.String()
		code, body := c.get(path + "/edit")
		if code != 200 || !strings.Contains(body, `data-testid="edit-panel"`) {
			t.Fatalf("edit page %d", code)
		}
		form := url.Values{"subject": {"Renamed deal"}, "estimated_amount": {"12x"}, "probability": {"150"},
			"expected_order_date": {"2027-02-30"}, "version": {fmt.Sprint(opp.Version)}}
		resp, body := c.post(path, form, false)
		if resp.StatusCode != 400 {
			t.Fatalf("invalid save: %d", resp.StatusCode)
		}
		for _, want := range []string{`value="Renamed deal"`, `value="12x"`, "Enter a number", "Enter a date"} {
			if !strings.Contains(body, want) {
				t.Fatalf("re-rendered form lacks %q", want)
			}
		}
		// Fix the amount and date; the probability is still out of range, reported by the domain.
		form.Set("estimated_amount", "12,500")
		form.Set("expected_order_date", "2027-02-27")
		resp, body = c.post(path, form, true)
		if !strings.Contains(body, "Probability must be between 0 and 100") || !strings.Contains(body, `value="150"`) {
			t.Fatalf("probability error not shown: %d", resp.StatusCode)
		}
		form.Set("probability", "40")
		resp, body = c.post(path, form, true)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="form-saved"`) || !strings.Contains(body, `id="card-`+opp.ID.String()+`"`) {
			t.Fatalf("save: %d", resp.StatusCode)
		}
		got, _ := s.store.Activity(ctx, opp.ID)
		if got.Subject != "Renamed deal" || *got.EstimatedAmount != 12500 || *got.WeightedAmount != 5000 || got.ExpectedOrderDate.String() != "2027-02-27" {
			t.Fatalf("saved %+v", got)
		}
		// The same (now stale) version again: refused, typing kept.
		form.Set("subject", "Second thoughts")
		resp, body = c.post(path, form, false)
		if resp.StatusCode != 409 || !strings.Contains(body, "changed by someone else") || !strings.Contains(body, `value="Second thoughts"`) {
			t.Fatalf("stale save: %d", resp.StatusCode)
		}
	})
}

func TestLoadMorePagesWithoutDuplicates(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		pipe, phases := fixture(t, s.store)
		for i := 0; i < models.CardPageSize+7; i++ {
			subj := fmt.Sprintf("Card %03d", i)
			if _, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, PipelineID: &pipe.ID}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		c := s.client()
		_, body := c.get("/board")
		first := regexp.MustCompile(`id="card-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1)
		if len(first) != models.CardPageSize {
			t.Fatalf("first page shows %d cards", len(first))
		}
		more := regexp.MustCompile(`hx-get="(/board/columns/[^"]+)"`).FindStringSubmatch(body)
		if more == nil {
			t.Fatal("no Load more")
		}
		_, page := c.get(strings.ReplaceAll(more[1], "&amp;", "&"))
		second := regexp.MustCompile(`id="card-([0-9a-f-]{36})"`).FindAllStringSubmatch(page, -1)
		if len(second) != 7 || strings.Contains(page, "load-more") {
			t.Fatalf("second page: %d cards", len(second))
		}
		seen := map[string]bool{}
		for _, m := range append(first, second...) {
			if seen[m[1]] {
				t.Fatalf("card %s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		_ = phases
	})
}

// "Mine" is the viewer's own cards, and stays "mine" in the URL so a shared link means each
// viewer's own.
func TestBoardMineFilter(t *testing.T) {
	forEachDB(t, 80, func(t *testing.T, s *server) {
		ctx := context.Background()
		pipe, _ := fixture(t, s.store)
		reps, _ := s.store.Employees(ctx)
		anna := reps[0]
		c := s.client()
		_, cookie := authtest.Login(t, s.store, models.RoleRep, &anna.ID)
		c.useSession(cookie)
		code, body := c.get("/board?rep=mine&status=all")
		if code != 200 || !strings.Contains(body, `<option value="mine" selected>Mine</option>`) {
			t.Fatalf("mine: %d", code)
		}
		want, _ := s.store.Columns(ctx, models.BoardFilter{PipelineID: pipe.ID, RepID: &anna.ID})
		got := countRe.FindAllStringSubmatch(body, -1)
		for i, col := range want {
			if got[i][1] != fmt.Sprint(col.Count) {
				t.Fatalf("column %s shows %s of mine, database says %d", col.Phase.Name, got[i][1], col.Count)
			}
		}
		if !strings.Contains(body, "rep=mine") {
			t.Fatal("links lost the mine filter")
		}
		_, none := authtest.Login(t, s.store, models.RoleManager, nil)
		c.useSession(none)
		if code, body := c.get("/board?rep=mine"); code != 400 || !strings.Contains(body, "not linked to a sales rep") {
			t.Fatalf("mine without an employee: %d %s", code, body)
		}
	})
}

// TestBoardCloseFilterInURL: the expected-close filter is read from the URL (an unknown choice
// is a 400), selects the cards, and stays in the filter bar and in the fragments' URLs.
func TestBoardCloseFilterInURL(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		dated := newCard(t, s.store, "Dated deal")
		day := s.store.Today()
		_, err := s.store.UpdateActivity(ctx, dated.ID, models.ActivityChanges{ExpectedOrderDate: &day}, models.Actor{})
		must(t, err)
		newCard(t, s.store, "Undated deal")
		c := s.client()
		if code, body := c.get("/board?close=someday"); code != 400 || !strings.Contains(body, "expected-close") {
			t.Fatalf("unknown choice: %d %.200s", code, body)
		}
		for close, want := range map[string]string{"nodate": "Undated deal", "month": "Dated deal", "quarter": "Dated deal"} {
			code, body := c.get("/board?close=" + close)
			other := map[string]string{"Undated deal": "Dated deal", "Dated deal": "Undated deal"}[want]
			if code != 200 || !strings.Contains(body, want) || strings.Contains(body, other) {
				t.Errorf("close=%s: %d, has %q %v, has %q %v", close, code, want, strings.Contains(body, want), other, strings.Contains(body, other))
			}
			if !strings.Contains(body, `<option value="`+close+`" selected`) || !strings.Contains(body, "close="+close) {
				t.Errorf("close=%s: the filter bar or the board's URLs lost the choice", close)
			}
		}
	})
}

// TestLostReasonSaveWithoutReasonIsRefused: the lost-reason prompt preselects nothing, so a Save
// without a reason (a hurried click, or a form that skips the browser's check) is a 422 that
// writes nothing, the competitor sent with it included; with a reason it is saved.
func TestLostReasonSaveWithoutReasonIsRefused(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		_, phases := fixture(t, s.store)
		deal := newCard(t, s.store, "Lost deal")
		res, err := s.store.MoveActivity(ctx, deal.ID, phases["Lost"].ID, nil, nil, nil, models.Actor{})
		must(t, err)
		rivals, err := s.store.Competitors(ctx)
		must(t, err)
		reasons, err := s.store.LostReasons(ctx)
		must(t, err)
		c := s.client()
		c.get("/board")
		path := "/board/opportunities/" + deal.ID.String() + "/lost"
		for _, htmx := range []bool{true, false} {
			for _, form := range []url.Values{{"competitor": {rivals[0].ID.String()}}, {"lost_reason": {""}, "competitor": {rivals[0].ID.String()}}, {}} {
				resp, body := c.post(path, form, htmx)
				got, err := s.store.Activity(ctx, deal.ID)
				must(t, err)
				if resp.StatusCode != 422 || !strings.Contains(body, "Choose why") || got.Version != res.Activity.Version || got.LostToCompetitorID != nil || got.LostReasonID != nil {
					t.Fatalf("htmx %v, %v: %d %.200s; version %d (was %d), competitor %v, reason %v", htmx, form, resp.StatusCode, body, got.Version, res.Activity.Version, got.LostToCompetitorID, got.LostReasonID)
				}
			}
		}
		resp, _ := c.post(path, url.Values{"lost_reason": {reasons[0].ID.String()}, "competitor": {rivals[0].ID.String()}}, true)
		got, err := s.store.Activity(ctx, deal.ID)
		must(t, err)
		if resp.StatusCode != 200 || got.LostReasonID == nil || *got.LostReasonID != reasons[0].ID || got.LostToCompetitorID == nil || *got.LostToCompetitorID != rivals[0].ID {
			t.Fatalf("with a reason: %d, reason %v, competitor %v", resp.StatusCode, got.LostReasonID, got.LostToCompetitorID)
		}
	})
}

// A move the page has already shown (placed=1: a drag or Alt+Arrow) is answered with the card
// and both column headers, not both columns; one the filter no longer shows re-renders them.
func TestPlacedMoveAnswersWithTheCardAndTheHeaders(t *testing.T) {
	forEachDB(t, 30, func(t *testing.T, s *server) {
		ctx := context.Background()
		pipe, phases := fixture(t, s.store)
		c := s.client()
		c.get("/board")
		from, to := phases["Qualification"].ID, phases["Proposal"].ID
		f := models.BoardFilter{PipelineID: pipe.ID}
		cards, _ := s.store.Cards(ctx, f, from, nil, 10)
		others, _ := s.store.Cards(ctx, f, to, nil, 10)
		if len(cards) < 2 || len(others) == 0 {
			t.Fatal("the demo needs cards in Qualification and Proposal")
		}
		card := cards[0]
		resp, body := c.post("/board/opportunities/"+card.ID.String()+"/move", url.Values{
			"phase_id": {to.String()}, "after_id": {others[0].ID.String()}, "placed": {"1"}, "source": {"drag"},
			"from_count": {"10"}, "to_count": {"10"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("move %d %s", resp.StatusCode, body)
		}
		got, _ := s.store.Activity(ctx, card.ID)
		if got.PhaseID != to {
			t.Fatalf("not moved: %+v", got)
		}
		cols, _ := s.store.Columns(ctx, f, from, to)
		for _, want := range []string{`id="card-` + card.ID.String() + `"`, `data-version="` + strconv.Itoa(got.Version) + `"`,
			`id="col-` + from.String() + `-head"`, `id="col-` + to.String() + `-head"`, "Moved “" + card.Subject + "” to Proposal."} {
			if !strings.Contains(body, want) {
				t.Fatalf("the answer lacks %s:\n%s", want, body)
			}
		}
		for _, col := range cols {
			if col.Phase.ID != from && col.Phase.ID != to {
				continue // Columns sums only the columns it is asked for
			}
			if want := `data-testid="column-count" data-value="` + strconv.FormatInt(col.Count, 10) + `"`; !strings.Contains(body, want) {
				t.Fatalf("the %s header does not say %d cards:\n%s", col.Phase.Name, col.Count, body)
			}
		}
		for _, other := range append(cards[1:], others...) {
			if strings.Contains(body, `id="card-`+other.ID.String()+`"`) {
				t.Fatalf("the answer repeats %s, which did not move", other.Subject)
			}
		}
		if strings.Contains(body, `id="col-`+to.String()+`"`) {
			t.Fatal("the answer re-renders the column")
		}

		// Moved out of what the board shows (Won, on a board of open deals): the columns.
		won := phases["Won"].ID
		resp, body = c.post("/board/opportunities/"+card.ID.String()+"/move", url.Values{
			"phase_id": {won.String()}, "placed": {"1"}, "source": {"drag"},
			"return": {"pipeline=" + pipe.ID.String() + "&status=open"}}, true)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="col-`+to.String()+`"`) {
			t.Fatalf("a card the filter leaves out: %d, the columns not re-rendered:\n%s", resp.StatusCode, body)
		}
		if strings.Contains(body, `id="card-`+card.ID.String()+`"`) {
			t.Fatal("a card the filter leaves out is shown")
		}
	})
}
