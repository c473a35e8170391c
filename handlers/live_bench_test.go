package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/servertest"
)

// The live pages' figures (README, Figures), on PostgreSQL:
//
//	go test -run '^$' -bench 'LiveLatency|LiveStreams' -benchtime 200x ./handlers/
//
// BenchmarkLiveLatency: a move committed by one client reaches another client's open stream
// (the event) and its page's refresh of the two columns is answered (event+refresh), beside
// the move's own transaction in the same iteration (commit-ms). BenchmarkLiveStreams: the built
// binary holds 1,000 streams (125 users, 8 each) and its resident memory is read before and with
// them; then one move reaches all 1,000.

func percentile(d []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
}

func BenchmarkLiveLatency(b *testing.B) {
	s := newServer(b, migrations.Postgres, 0)
	ctx := context.Background()
	card := newCard(b, s.store, "Latency")
	pipe, phases := fixture(b, s.store)
	req, _ := http.NewRequest("GET", s.URL+"/board/events?pipeline="+pipe.ID.String(), nil)
	req.AddCookie(s.session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") && strings.Contains(line, "live-refresh") {
				events <- line
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	c := s.client()
	to := []models.Phase{phases["Proposal"], phases["Negotiation"]}
	var event, refresh, commit []time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		if _, err := s.store.MoveActivity(ctx, card.ID, to[i%2].ID, nil, nil, nil, models.Actor{}); err != nil {
			b.Fatal(err)
		}
		commit = append(commit, time.Since(t0))
		t1 := time.Now()
		var line string
		select {
		case line = <-events:
		case <-time.After(5 * time.Second):
			b.Fatal("no event")
		}
		event = append(event, time.Since(t1))
		u := strings.ReplaceAll(cutBetween(line, `hx-get="`, `"`), "&amp;", "&")
		if code, _ := c.get(u); code != 200 {
			b.Fatal(code)
		}
		refresh = append(refresh, time.Since(t1))
	}
	b.ReportMetric(percentile(event, 0.5), "event-p50-ms")
	b.ReportMetric(percentile(event, 0.99), "event-p99-ms")
	b.ReportMetric(percentile(refresh, 0.5), "event+refresh-p50-ms")
	b.ReportMetric(percentile(refresh, 0.99), "event+refresh-p99-ms")
	b.ReportMetric(percentile(commit, 0.5), "commit-p50-ms")
}

// rssKiB is a process's resident memory.
func rssKiB(b *testing.B, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func BenchmarkLiveStreams(b *testing.B) {
	const users, each = 125, 8
	bin := servertest.Build(b)
	s := storetest.New(b, migrations.Postgres)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		b.Fatal(err)
	}
	card := newCard(b, s, "Fan-out")
	pipe, phases := fixture(b, s)
	p := servertest.Start(b, bin, []string{"DATABASE_URL=" + storetest.URLOf(b, s), "PHASEBOARD_HOST=127.0.0.1"}, "serve", "--port", "0")
	p.WaitListening()
	pid := p.Cmd.Process.Pid
	time.Sleep(500 * time.Millisecond)
	before := rssKiB(b, pid)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: users * each}}
	var wg sync.WaitGroup
	arrived := make(chan time.Time, users*each)
	opened := make(chan struct{}, users*each)
	ctxStreams, cancel := context.WithCancel(ctx)
	defer cancel()
	for u := 0; u < users; u++ {
		_, cookie := authtest.Login(b, s, models.RoleManager, nil)
		for k := 0; k < each; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(ctxStreams, "GET", p.URL+"/board/events?pipeline="+pipe.ID.String(), nil)
				req.AddCookie(cookie)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Error("stream", err)
					return
				}
				defer resp.Body.Close()
				opened <- struct{}{}
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "live-refresh") {
						arrived <- time.Now()
						return
					}
				}
			}()
		}
	}
	for i := 0; i < users*each; i++ {
		select {
		case <-opened:
		case <-time.After(60 * time.Second):
			b.Fatalf("%d streams opened", i)
		}
	}
	time.Sleep(time.Second)
	with := rssKiB(b, pid)
	b.ResetTimer()
	t0 := time.Now()
	if _, err := s.MoveActivity(ctx, card.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
		b.Fatal(err)
	}
	var last time.Time
	for i := 0; i < users*each; i++ {
		select {
		case last = <-arrived:
		case <-time.After(30 * time.Second):
			b.Fatalf("%d of %d streams heard the move", i, users*each)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(users*each), "streams")
	b.ReportMetric(float64(before)/1024, "rss-before-MiB")
	b.ReportMetric(float64(with)/1024, "rss-with-streams-MiB")
	b.ReportMetric(float64(last.Sub(t0).Microseconds())/1000, "fanout-all-ms")
	cancel()
	wg.Wait()
}
