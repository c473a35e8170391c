package handlers_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/servertest"
)

// TestChaos: 16 browsers move and edit cards over HTTP against the built binary while the
// process is killed (kill -9) and restarted, and PostgreSQL crashes and comes back. Afterwards
// every invariant holds: each accepted move has its history row (and nothing refused wrote one),
// closed flags, probabilities and lost reasons agree with the phase, no card is lost or in a
// phase of another pipeline; and no answer was a 5xx other than 503 while the database was down.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the chaos test needs its own PostgreSQL cluster and the binary")
	}
	bin := servertest.Build(t)
	cluster := storetest.NewCluster(t)
	s := storetest.NewOn(t, cluster.URL)
	dbURL := storetest.URLOf(t, s)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	pipe, _ := fixture(t, s)
	phases, _ := s.Phases(ctx, pipe.ID)
	reasons, _ := s.LostReasons(ctx)
	const nCards, nClients = 24, 16
	cards := make([]string, nCards)
	for i := range cards {
		cards[i] = newCard(t, s, fmt.Sprint("chaos ", i)).ID.String()
	}

	port := freeTCPPort(t)
	env := []string{"DATABASE_URL=" + dbURL, "PHASEBOARD_HOST=127.0.0.1", "PHASEBOARD_API_RATE_LIMIT=100000"}
	start := func() *servertest.Process {
		p := servertest.Start(t, bin, env, "serve", "--port", port)
		p.WaitListening()
		return p
	}
	proc := start()
	base := proc.URL

	// The timeline: what was down when. A 503 is allowed for requests that overlap a database
	// outage (plus a second for the pool to reconnect); a missing answer for requests that
	// overlap the dead process.
	var mu sync.Mutex
	var dbDown, procDown []window
	begin := time.Now()
	mark := func(list *[]window, from time.Time) {
		mu.Lock()
		*list = append(*list, window{from, time.Now()})
		mu.Unlock()
	}

	log := &chaosLog{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < nClients; i++ {
		_, cookie := authtest.Login(t, s, models.RoleManager, nil)
		token := chaosToken(t, base, cookie)
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			c := &chaosClient{base: base, cookie: cookie, csrf: token, log: log,
				http: &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			rng := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				card := cards[rng.IntN(len(cards))]
				switch n := rng.IntN(10); {
				case n < 6:
					c.move(card, phases[rng.IntN(len(phases))].ID.String())
				case n < 9:
					c.edit(card, rng)
				default:
					c.lostReason(card, reasons[rng.IntN(len(reasons))].ID.String())
				}
			}
		}(uint64(i))
	}

	time.Sleep(3 * time.Second)
	killed := time.Now()
	proc.Signal(syscall.SIGKILL)
	proc.Wait(10 * time.Second)
	proc = start()
	mark(&procDown, killed)

	time.Sleep(3 * time.Second)
	crashed := time.Now()
	cluster.Crash()
	time.Sleep(1500 * time.Millisecond)
	cluster.Start()
	mark(&dbDown, crashed)

	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	proc.Signal(syscall.SIGTERM)
	if code := proc.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
	out := proc.Output()
	if strings.Contains(out, "panic") || strings.Contains(out, "database is closed") {
		t.Errorf("the server log shows a panic or a closed pool:\n%s", out)
	}

	// Answers. Every client is a manager with a valid session and token, so besides the outages
	// only these are expected: a stale edit (409) and a lost reason for a deal no longer lost (400).
	expected := map[string][]int{"move": {200}, "open edit": {200}, "edit": {303, 409}, "lost reason": {200, 400}}
	entries := log.all()
	stats := map[string]int{}
	for _, e := range entries {
		stats[e.status()]++
		switch {
		case e.err == nil && e.code != 503 && !slices.Contains(expected[e.action], e.code):
			t.Errorf("%s %s at %s: %d %s", e.action, e.card, e.start.Sub(begin), e.code, e.body)
		case e.err != nil:
			if !e.overlaps(procDown, 500*time.Millisecond) {
				t.Errorf("%s %s at %s: no answer while the process was up: %v", e.action, e.card, e.start.Sub(begin), e.err)
			}
		case e.code == 503:
			if !e.overlaps(dbDown, time.Second) {
				t.Errorf("%s %s at %s: 503 while the database was up", e.action, e.card, e.start.Sub(begin))
			}
		}
	}
	t.Logf("%d requests in %s: %v", len(entries), time.Since(begin).Round(time.Millisecond), stats)
	if stats["200"]+stats["303"] < 200 {
		t.Errorf("too little work got through to prove anything: %v", stats)
	}

	// History: per card, the rows are the accepted phase changes plus at most the ones whose
	// answer was lost (no answer, 503); and they chain from the creation to the current phase.
	accepted := map[string]int{}
	maybe := map[string]int{}
	for _, e := range entries {
		if e.action != "move" {
			continue
		}
		switch {
		case e.err != nil || e.code == 503 || (e.code == 200 && strings.Contains(e.body, "could not refresh")):
			maybe[e.card]++
		case e.code == 200 && strings.Contains(e.body, "Moved “"):
			accepted[e.card]++
		}
	}
	var acts []models.Activity
	if err := s.DB.Where("id IN ?", cards).Find(&acts).Error; err != nil {
		t.Fatal(err)
	}
	if len(acts) != nCards {
		t.Fatalf("%d of %d cards left", len(acts), nCards)
	}
	phaseByID := map[uuid.UUID]models.Phase{}
	for _, p := range phases {
		phaseByID[p.ID] = p
	}
	for _, a := range acts {
		id := a.ID.String()
		var rows []models.PhaseChange
		if err := s.DB.Where("activity_id = ?", a.ID).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		moves := len(rows) - 1 // the first row is the creation
		if moves < accepted[id] || moves > accepted[id]+maybe[id] {
			t.Errorf("card %s: %d history rows of moves for %d accepted (and %d unanswered) moves", id, moves, accepted[id], maybe[id])
		}
		flow := map[string]int{}
		created := 0
		for _, r := range rows {
			flow[r.ToPhaseID.String()]++
			if r.FromPhaseID == nil {
				created++
			} else {
				flow[r.FromPhaseID.String()]--
			}
		}
		flow[a.PhaseID.String()]--
		for p, n := range flow {
			if n != 0 || created != 1 {
				t.Errorf("card %s: its history does not lead to its phase (phase %s off by %d, %d creations)", id, p, n, created)
			}
		}
		p, ok := phaseByID[a.PhaseID]
		if !ok || a.PipelineID != pipe.ID {
			t.Errorf("card %s is in phase %s, not of its pipeline", id, a.PhaseID)
			continue
		}
		prob := -1.0
		if a.Probability != nil {
			prob = *a.Probability
		}
		switch {
		case a.IsClosed != p.IsTerminal:
			t.Errorf("card %s in %s: closed %v", id, p.Name, a.IsClosed)
		case p.IsTerminal && p.IsWon && prob != 100, p.IsLost() && prob != 0, !p.IsTerminal && prob != p.DefaultProbability:
			t.Errorf("card %s in %s: probability %v", id, p.Name, prob)
		case !p.IsLost() && (a.LostReasonID != nil || a.LostToCompetitorID != nil):
			t.Errorf("card %s in %s keeps a lost reason", id, p.Name)
		}
		if a.EstimatedAmount != nil && a.WeightedAmount != nil && math.Abs(*a.WeightedAmount-*a.EstimatedAmount*prob/100) > 0.01 {
			t.Errorf("card %s: weighted %v of %v at %v%%", id, *a.WeightedAmount, *a.EstimatedAmount, prob)
		}
	}
}

// window is a span of time something was down.
type window struct{ from, to time.Time }

type chaosEntry struct {
	action, card string
	start, end   time.Time
	code         int
	body         string
	err          error
}

// overlaps reports whether the request ran, even in part, within one of the windows (widened by
// grace at their end).
func (e chaosEntry) overlaps(ws []window, grace time.Duration) bool {
	for _, w := range ws {
		if e.start.Before(w.to.Add(grace)) && e.end.After(w.from) {
			return true
		}
	}
	return false
}

func (e chaosEntry) status() string {
	if e.err != nil {
		return "no answer"
	}
	return fmt.Sprint(e.code)
}

type chaosLog struct {
	mu      sync.Mutex
	entries []chaosEntry
}

func (l *chaosLog) add(e chaosEntry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
}

func (l *chaosLog) all() []chaosEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]chaosEntry(nil), l.entries...)
}

// chaosClient is one browser: a manager's session and its CSRF token.
type chaosClient struct {
	base   string
	cookie *http.Cookie
	csrf   string
	http   *http.Client
	log    *chaosLog
}

func (c *chaosClient) do(action, card, method, path string, form url.Values, htmx bool) chaosEntry {
	e := chaosEntry{action: action, card: card, start: time.Now()}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	req.AddCookie(c.cookie)
	res, err := c.http.Do(req)
	if err == nil {
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		e.code, e.body, err = res.StatusCode, string(b), rerr
	}
	e.err, e.end = err, time.Now()
	c.log.add(e)
	if err != nil || e.code == 503 {
		time.Sleep(50 * time.Millisecond) // as a person would wait a moment, not hammer
	}
	return e
}

func (c *chaosClient) move(card, phase string) {
	c.do("move", card, "POST", "/board/opportunities/"+card+"/move", url.Values{"phase_id": {phase}}, true)
}

var versionField = regexp.MustCompile(`name="version" value="(\d+)"`)

// edit opens the edit panel and saves a new subject and amount with the version it showed; a
// stale version (someone moved or saved in between) is a 409.
func (c *chaosClient) edit(card string, rng *rand.Rand) {
	panel := c.do("open edit", card, "GET", "/board/opportunities/"+card+"/edit", nil, true)
	m := versionField.FindStringSubmatch(panel.body)
	if panel.err != nil || panel.code != 200 || m == nil {
		return
	}
	c.do("edit", card, "POST", "/board/opportunities/"+card, url.Values{
		"version": {m[1]}, "subject": {fmt.Sprint("edited ", rng.IntN(1000))},
		"estimated_amount": {fmt.Sprint(1000 * rng.IntN(100))},
	}, false)
}

// lostReason gives a reason for a lost deal; for one in another phase it is refused (4xx).
func (c *chaosClient) lostReason(card, reason string) {
	c.do("lost reason", card, "POST", "/board/opportunities/"+card+"/lost", url.Values{"lost_reason": {reason}}, true)
}

// chaosToken opens the board with the session and returns the page's CSRF token.
func chaosToken(t *testing.T, base string, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/board", nil)
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := csrfMeta.FindSubmatch(b)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("board: %d", res.StatusCode)
	}
	return string(m[1])
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}
