package handlers_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// sseStream is a live page's stream read as the browser would, event by event.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
}

type sseEvent struct{ name, id, data string }

func openStream(t *testing.T, s *server, path string, header http.Header) *sseStream {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.AddCookie(s.session)
	for k, v := range header {
		req.Header[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	st := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 100)}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		close(st.events)
		return st
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	go func() {
		defer close(st.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					st.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			}
		}
	}()
	return st
}

// next is the next event named name (others, like presence, are skipped).
func (st *sseStream) next(name string) sseEvent {
	st.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				st.t.Fatalf("the stream ended before a %s event", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			st.t.Fatalf("no %s event within 5 s", name)
		}
	}
}

func TestLiveBoardStream(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newServer(t, dialect, 0)
			card := newCard(t, s.store, "Live deal")
			pipe, phases := fixture(t, s.store)
			ctx := context.Background()
			st := openStream(t, s, "/board/events?pipeline="+pipe.ID.String(), nil)
			if st.resp.StatusCode != 200 {
				t.Fatalf("stream: %d", st.resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond) // subscribed
			// A move by someone else names both columns it touched.
			if _, err := s.store.MoveActivity(ctx, card.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			ev := st.next("change")
			if !strings.Contains(ev.data, "/board/refresh?") || !strings.Contains(ev.data, phases["Proposal"].ID.String()) ||
				!strings.Contains(ev.data, phases["Qualification"].ID.String()) || ev.id == "" {
				t.Fatalf("event %+v", ev)
			}
			// The refresh it loads renders both columns with the database's figures.
			c := s.client()
			url := cutBetween(ev.data, `hx-get="`, `"`)
			code, body := c.get(strings.ReplaceAll(url, "&amp;", "&"))
			if code != 200 || !strings.Contains(body, `id="col-`+phases["Proposal"].ID.String()+`"`) || !strings.Contains(body, "Live deal") || !strings.Contains(body, `hx-swap-oob`) {
				t.Fatalf("refresh: %s", body)
			}

			// A change of another pipeline is not this board's business; a reconnect with the
			// last id seen gets what it missed, and nothing from before.
			other := s.store
			ps, _ := other.SalesPipelines(ctx)
			renewal := "Renewal"
			if _, err := other.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &renewal, PipelineID: &ps[1].ID}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			if _, err := other.MoveActivity(ctx, card.ID, phases["Negotiation"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			ev2 := st.next("change")
			if strings.Contains(ev2.data, ps[1].ID.String()) || !strings.Contains(ev2.data, phases["Negotiation"].ID.String()) {
				t.Fatalf("second event %+v", ev2)
			}
			handlers.DropStreams(s.h)
			if _, err := other.MoveActivity(ctx, card.ID, phases["Qualification"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			again := openStream(t, s, "/board/events?pipeline="+pipe.ID.String(), http.Header{"Last-Event-Id": {ev2.id}})
			ev3 := again.next("change")
			if ev3.id == ev2.id || !strings.Contains(ev3.data, phases["Negotiation"].ID.String()) || !strings.Contains(ev3.data, phases["Qualification"].ID.String()) {
				t.Fatalf("after reconnect %+v (last seen %s)", ev3, ev2.id)
			}
		})
	}
}

func TestLiveStreamsCapAndPresence(t *testing.T) {
	s := newServer(t, "sqlite", 0)
	pipe, _ := fixture(t, s.store)
	path := "/board/events?pipeline=" + pipe.ID.String()
	var open []*sseStream
	for i := 0; i < 8; i++ {
		st := openStream(t, s, path, nil)
		if st.resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i, st.resp.StatusCode)
		}
		open = append(open, st)
	}
	if st := openStream(t, s, path, nil); st.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("ninth stream of one user: %d", st.resp.StatusCode)
	}
	// Another user joins: the first user's pages say so.
	other := openStreamAs(t, s, path, models.RoleRep)
	if other.resp.StatusCode != 200 {
		t.Fatal(other.resp.StatusCode)
	}
	for {
		ev := open[0].next("presence")
		if strings.Contains(ev.data, "Also here:") {
			break
		}
	}
}

func openStreamAs(t *testing.T, s *server, path, role string) *sseStream {
	t.Helper()
	saved := s.session
	defer func() { s.session = saved }()
	_, s.session = authtest.Login(t, s.store, role, nil)
	return openStream(t, s, path, nil)
}

func cutBetween(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, to)
	return out
}

// TestLiveForecastStream: the forecast pages re-render on any change of an opportunity; a
// page that is not a forecast page is refused.
func TestLiveForecastStream(t *testing.T) {
	s := newServer(t, "sqlite", 0)
	if st := openStream(t, s, "/forecast/events?page=//evil.example/", nil); st.resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("foreign page: %d", st.resp.StatusCode)
	}
	st := openStream(t, s, "/forecast/events?page=/forecast/board%3Fpipeline%3Dx", nil)
	if st.resp.StatusCode != 200 {
		t.Fatal(st.resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	newCard(t, s.store, "Forecast me")
	if ev := st.next("change"); !strings.Contains(ev.data, "live-reload") {
		t.Fatalf("event %+v", ev)
	}
}
