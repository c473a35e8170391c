package handlers

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// Live pages: every open board, forecast board and forecast page holds one Server-Sent Events
// stream (htmx's SSE extension) that follows the change feed (models/feed.go). The stream
// carries no data of its own: an event names what changed (the board's columns a change
// touched, or "this page") as a small element that htmx loads at once, so the re-render is an
// ordinary GET of the user's own session, with the same ReadScope as a page load. Each event's
// id is the feed id, so a reconnecting page resumes after the last one it saw (Last-Event-ID),
// or re-renders whole when that is too old (pruned).

const (
	// maxStreamsPerUser caps one user's open streams on an instance (tabs, say); the next one
	// is refused with 429 and the page works as before, without live updates.
	maxStreamsPerUser = 8
	// heartbeatEvery keeps proxies from closing an idle stream and finds dead clients.
	heartbeatEvery = 15 * time.Second
	// eventWriteTimeout is each write's deadline: a stream lives for hours, so the server's
	// own write timeout (which would cut it after a minute) is renewed per event instead.
	eventWriteTimeout = 10 * time.Second
	// coalesce is how long a stream gathers changes into one event (a bulk move is one).
	coalesce = 30 * time.Millisecond
)

// liveStreams counts the open streams per user and ends them all at shutdown.
type liveStreams struct {
	mu      sync.Mutex
	perUser map[uuid.UUID]int
	// who is on which page (presence): page key → stream → the user's name.
	pages    map[string]map[*liveStream]string
	stop     chan struct{}
	stopOnce sync.Once
	stopped  bool // shutting down: no new streams
}

// liveStream is one open stream: presence news reaches it on its own channel.
type liveStream struct{ presence chan []string }

// liveInit guards the first use of a Handler's streams (Handler is a plain struct tests copy).
var liveInit sync.Mutex

func (h *Handler) streams() *liveStreams {
	liveInit.Lock()
	defer liveInit.Unlock()
	if h.live == nil {
		h.live = &liveStreams{perUser: map[uuid.UUID]int{}, pages: map[string]map[*liveStream]string{}, stop: make(chan struct{})}
	}
	return h.live
}

// StopStreams ends every open stream and refuses new ones (before a graceful shutdown, which
// would otherwise wait for them); the pages reconnect to another instance, or to this one
// when it is back.
func (h *Handler) StopStreams() {
	l := h.streams()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	l.stopOnce.Do(func() { close(l.stop) })
}

// dropStreams ends the open streams but takes new ones (tests: a network drop).
func (h *Handler) dropStreams() {
	l := h.streams()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		close(l.stop)
		l.stop = make(chan struct{})
	}
}

// stopChannel is closed when the streams open now must end.
func (l *liveStreams) stopChannel() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stop
}

func (l *liveStreams) acquire(user uuid.UUID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || l.perUser[user] >= maxStreamsPerUser {
		return false
	}
	l.perUser[user]++
	return true
}

func (l *liveStreams) release(user uuid.UUID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perUser[user]--; l.perUser[user] <= 0 {
		delete(l.perUser, user)
	}
}

// join and leave keep the presence of a page, telling every stream on it who is there.
func (l *liveStreams) join(page string, s *liveStream, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pages[page] == nil {
		l.pages[page] = map[*liveStream]string{}
	}
	l.pages[page][s] = name
	l.tell(page)
}

func (l *liveStreams) leave(page string, s *liveStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pages[page], s)
	if len(l.pages[page]) == 0 {
		delete(l.pages, page)
	}
	l.tell(page)
}

// tell sends each stream of page the names of the others (l.mu held).
func (l *liveStreams) tell(page string) {
	for s := range l.pages[page] {
		var others []string
		seen := map[string]bool{}
		for o, name := range l.pages[page] {
			if o != s && !seen[name] && name != l.pages[page][s] {
				seen[name] = true
				others = append(others, name)
			}
		}
		select { // the newest news replaces unread news
		case <-s.presence:
		default:
		}
		s.presence <- others
	}
}

// liveTopic is what a stream follows: which changes concern its page, and the event that
// tells the page to re-render what changed.
type liveTopic struct {
	page string // presence key: the page and its pipeline
	// event returns the element that re-renders what recs changed on the page ("" when
	// nothing of it).
	event func(recs []models.ChangeRecord) string
}

// BoardEvents is the pipeline board's stream: a change of a card of its pipeline re-renders
// the columns it left and entered (GET /board/refresh); a change of the pipeline's phases
// re-renders the page.
func (h *Handler) BoardEvents(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, err := h.filterFromValues(c, v)
	if err != nil {
		return err
	}
	pipeline, query := f.PipelineID, filterQuery(f)
	return h.stream(c, liveTopic{page: "board:" + pipeline.String(), event: func(recs []models.ChangeRecord) string {
		phases, whole := map[uuid.UUID]bool{}, false
		var cards []string
		for _, r := range recs {
			switch {
			case r.Op == models.ChangeResync || r.IsPhaseOrPipeline():
				whole = true
			case r.IsActivity() && *r.PipelineID == pipeline:
				for _, p := range []*uuid.UUID{r.FromPhaseID, r.ToPhaseID} {
					if p != nil {
						phases[*p] = true
					}
				}
				to := ""
				if r.ToPhaseID != nil {
					to = r.ToPhaseID.String()
				}
				cards = append(cards, r.EntityID.String()+":"+strconv.Itoa(r.Version)+":"+to)
			}
		}
		if whole {
			return liveElement(views.LiveReload())
		}
		if len(phases) == 0 {
			return ""
		}
		q := url.Values{}
		for p := range phases {
			q.Add("phase", p.String())
		}
		return liveElement(views.LiveRefresh("/board/refresh?"+q.Encode()+"&"+query, strings.Join(cards, ",")))
	}})
}

// ForecastEvents is the stream of the forecast board and the forecast page: any change of an
// opportunity (or a phase) re-renders the page's content, which is what its figures are.
func (h *Handler) ForecastEvents(c *fiber.Ctx) error {
	page := c.Query("page")
	if !strings.HasPrefix(page, "/forecast") || strings.HasPrefix(page, "//") || strings.ContainsAny(page, "\r\n\x00") {
		return badRequest("Which forecast page is live?")
	}
	path, _, _ := strings.Cut(page, "?")
	return h.stream(c, liveTopic{page: path, event: func(recs []models.ChangeRecord) string {
		for _, r := range recs {
			if r.Op == models.ChangeResync || r.IsPhaseOrPipeline() || r.EntityType == models.SalesOpportunity.Type {
				return liveElement(views.LiveReload())
			}
		}
		return ""
	}})
}

// liveURL is the stream of a forecast page at page (path and query), resuming after the feed
// id read now, before the page's figures.
func (h *Handler) liveURL(c *fiber.Ctx, page string) (string, error) {
	last, err := h.Store.Feed().Latest(c.UserContext())
	if err != nil {
		return "", err
	}
	return "/forecast/events?" + url.Values{"page": {page}, "last": {strconv.FormatInt(last, 10)}}.Encode(), nil
}

// liveElement renders an event's element on one line (an SSE data line).
func liveElement(c templComponent) string {
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		return ""
	}
	return strings.ReplaceAll(b.String(), "\n", " ")
}

// lastEventID is the feed id a (re)connecting page has seen: the browser's Last-Event-ID on a
// reconnect, else the id the page was rendered at (the last parameter).
func lastEventID(c *fiber.Ctx) (int64, bool) {
	for _, v := range []string{c.Get("Last-Event-ID"), c.Query("last")} {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id >= 0 {
			return id, true
		}
	}
	return 0, false
}

// stream serves one live page's stream.
func (h *Handler) stream(c *fiber.Ctx, topic liveTopic) error {
	user := web.CurrentUser(c)
	if user == nil {
		return fiber.NewError(fiber.StatusUnauthorized, "Log in to follow the board live.")
	}
	feed := h.Store.Feed()
	feed.Start(models.FeedConfig{Logger: h.Logger})
	after, ok := lastEventID(c)
	if !ok {
		latest, err := feed.Latest(c.UserContext())
		if err != nil {
			return err
		}
		after = latest
	}
	l := h.streams()
	if !l.acquire(user.ID) {
		return fiber.NewError(fiber.StatusTooManyRequests, "Too many live pages open; close some tabs.")
	}
	name := user.Email
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache, no-transform")
	c.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	conn := c.Context().Conn()
	sub := feed.Subscribe(after)
	stop := l.stopChannel()
	self := &liveStream{presence: make(chan []string, 1)}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer l.release(user.ID)
		defer sub.Close()
		l.join(topic.page, self, name)
		defer l.leave(topic.page, self)
		write := func(s string) bool {
			conn.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
			if _, err := w.WriteString(s); err != nil {
				return false
			}
			return w.Flush() == nil
		}
		// retry: the browser's reconnect delay; the comment opens the stream at once.
		if !write("retry: 2000\n: live\n\n") {
			return
		}
		beat := time.NewTicker(heartbeatEvery)
		defer beat.Stop()
		for {
			var msg string
			select {
			case <-stop:
				return
			case <-beat.C:
				msg = ": heartbeat\n\n"
			case others := <-self.presence:
				msg = "event: presence\ndata: " + liveElement(views.Presence(others)) + "\n\n"
			case r, ok := <-sub.C:
				if !ok {
					return
				}
				recs := gather(sub, r)
				id := strconv.FormatInt(recs[len(recs)-1].ID, 10)
				if el := topic.event(recs); el != "" {
					msg = "event: change\nid: " + id + "\ndata: " + el + "\n\n"
				} else {
					msg = "id: " + id + "\n\n" // moves the page's Last-Event-ID on, shows nothing
				}
			}
			if !write(msg) {
				return // the page is gone
			}
		}
	})
	return nil
}

// gather is first and whatever else arrives within coalesce: one event for a burst.
func gather(sub *models.Subscription, first models.ChangeRecord) []models.ChangeRecord {
	recs := []models.ChangeRecord{first}
	deadline := time.NewTimer(coalesce)
	defer deadline.Stop()
	for len(recs) < 500 {
		select {
		case r, ok := <-sub.C:
			if !ok {
				return recs
			}
			recs = append(recs, r)
		case <-deadline.C:
			return recs
		}
	}
	return recs
}

// BoardRefresh re-renders columns of the board after a change elsewhere (a live page's event):
// the columns named by phase, each with as many cards as the page shows (n_<phase>).
func (h *Handler) BoardRefresh(c *fiber.Ctx) error {
	v, err := queryValues(c)
	if err != nil {
		return err
	}
	f, err := h.filterFromValues(c, v)
	if err != nil {
		return err
	}
	limits := map[uuid.UUID]int{}
	for _, p := range v["phase"] {
		id, err := uuid.Parse(p)
		if err != nil {
			return badRequest("That column does not exist.")
		}
		limits[id] = renderedCount(c, "n_"+p)
	}
	if len(limits) == 0 || len(limits) > 50 {
		return badRequest("Name the columns to show.")
	}
	return h.refreshColumns(c, f, "", limits)
}
