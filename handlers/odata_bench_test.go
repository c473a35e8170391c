package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// The OData benchmarks run on PostgreSQL with PHASEBOARD_BENCH_ODATA_OPPORTUNITIES opportunities
// (default 100,000), loaded once per test binary and dropped at its end (processTB).
var (
	odataBenchOnce  sync.Once
	odataBenchSrv   *server
	odataBenchToken string
	odataBenchKeys  []string
	odataBenchN     int
)

func odataBenchServer(b *testing.B) *server {
	odataBenchOnce.Do(func() {
		n := 100000
		if v, err := strconv.Atoi(os.Getenv("PHASEBOARD_BENCH_ODATA_OPPORTUNITIES")); err == nil && v > 0 {
			n = v
		}
		start := time.Now()
		tb := processTB{b}
		s := storetest.New(tb, migrations.Postgres)
		if err := s.LoadDemo(context.Background(), n, nil, nil); err != nil {
			b.Fatal(err)
		}
		// newServer's app, with a rate limit the load cannot reach (it still counts every call).
		app := web.New(web.Config{Store: s})
		handlers.Register(app, &handlers.Handler{Store: s, APIRateLimit: 1 << 30})
		ts := httptest.NewUnstartedServer(nil)
		go app.Listener(ts.Listener)
		tb.Cleanup(func() { app.Shutdown() })
		srv := &server{t: tb, store: s, app: app, URL: "http://" + ts.Listener.Addr().String()}
		// As autovacuum would (index-only scans need the visibility map), on this schema's tables only.
		srv.store.DB.Exec("VACUUM ANALYZE activities, phases, phase_changes")
		srv.store.DB.Model(&models.Activity{}).Where("type = ?", models.SalesOpportunity.Type).Limit(2000).Pluck("id::text", &odataBenchKeys)
		odataBenchToken, _ = authtest.Token(tb, srv.store, models.RoleManager, "read", nil)
		b.Logf("loaded %d opportunities in %s", n, time.Since(start).Round(time.Second))
		odataBenchSrv, odataBenchN = srv, n
	})
	if odataBenchSrv == nil {
		b.Fatal("benchmark set-up failed")
	}
	return odataBenchSrv
}

var odataBenchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}

// odataBenchGet fetches path (relative to the server, or an absolute nextLink) and returns the body.
func odataBenchGet(b *testing.B, srv *server, path string, header ...string) []byte {
	if !strings.HasPrefix(path, "http") {
		path = srv.URL + strings.ReplaceAll(path, " ", "%20")
	}
	req, _ := http.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+odataBenchToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := odataBenchClient.Do(req)
	if err != nil {
		b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Errorf("%s: %d %.300s", path, resp.StatusCode, body)
	}
	return body
}

// odataLoad runs b.N requests from concurrent clients (4 per GOMAXPROCS) and reports
// requests per second and the p50/p99 latency.
func odataLoad(b *testing.B, path func(i int) string) {
	srv := odataBenchServer(b)
	odataBenchGet(b, srv, path(0)) // warm up
	var (
		mu   sync.Mutex
		lat  []time.Duration
		next atomic.Int64
	)
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(next.Add(1))
			t0 := time.Now()
			odataBenchGet(b, srv, path(i))
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkODataOpportunityQuery is the figure: filter, expand, order, top, count.
func BenchmarkODataOpportunityQuery(b *testing.B) {
	const q = "/v1/odata/Activity_SalesOpportunity?$filter=Probability gt 50&$expand=Phase($select=Name,Code)&$orderby=ExpectedOrderDate&$top=100&$count=true"
	srv := odataBenchServer(b)
	var page struct {
		Count int               `json:"@odata.count"`
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(odataBenchGet(b, srv, q), &page); err != nil || len(page.Value) != 100 || page.Count == 0 {
		b.Fatalf("query answer: %v, %d rows of %d", err, len(page.Value), page.Count)
	}
	odataLoad(b, func(int) string { return q })
}

// BenchmarkODataApply aggregates every opportunity: the weighted amount per phase ($apply).
func BenchmarkODataApply(b *testing.B) {
	const q = "/v1/odata/Activity_SalesOpportunity?$apply=groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))"
	srv := odataBenchServer(b)
	var page struct {
		Value []struct {
			Phase    struct{ Name *string }
			Weighted *float64
		} `json:"value"`
	}
	if err := json.Unmarshal(odataBenchGet(b, srv, q), &page); err != nil || len(page.Value) == 0 || page.Value[0].Phase.Name == nil {
		b.Fatalf("query answer: %v, %+v", err, page.Value)
	}
	odataLoad(b, func(int) string { return q })
}

// BenchmarkODataOpportunityByKey reads single opportunities by key.
func BenchmarkODataOpportunityByKey(b *testing.B) {
	odataBenchServer(b)
	odataLoad(b, func(i int) string {
		return "/v1/odata/Activity_SalesOpportunity(" + odataBenchKeys[i%len(odataBenchKeys)] + ")"
	})
}

// BenchmarkODataPageAll pages through every opportunity with @odata.nextLink (1,000 rows a page,
// the maximum) and reports the peak heap in use of the process (server and client) after 10%
// and after 100% of the pages: paging must hold memory flat.
func BenchmarkODataPageAll(b *testing.B) {
	srv := odataBenchServer(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		start := time.Now()
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // sample the heap while paging
			defer close(done)
			var ms runtime.MemStats
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		path := "/v1/odata/Activity_SalesOpportunity"
		pages, rows := 0, 0
		var peak10 uint64
		total := (odataBenchN + 999) / 1000
		for path != "" {
			var page struct {
				Next  string            `json:"@odata.nextLink"`
				Value []json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(odataBenchGet(b, srv, path, "Prefer", "odata.maxpagesize=1000"), &page); err != nil {
				b.Fatal(err)
			}
			pages++
			rows += len(page.Value)
			path = page.Next
			if pages == max(1, total/10) {
				peak10 = peak.Load()
			}
		}
		close(stop)
		<-done
		if rows != odataBenchN {
			b.Fatalf("paged %d rows, want %d", rows, odataBenchN)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(pages), "ms/page")
		b.ReportMetric(float64(pages), "pages")
		b.ReportMetric(float64(peak10)/(1<<20), "peak-heap-10%-MB")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	}
}

// BenchmarkODataPageAll16 is issue 12's memory figure: 16 clients page through every
// opportunity at once, 1,000 a page (streamed answers, each through web.HTTPHandler's bounded
// buffer); it reports the peak heap in use and the pages per second.
func BenchmarkODataPageAll16(b *testing.B) {
	srv := odataBenchServer(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		start := time.Now()
		var peak atomic.Uint64
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		var pages atomic.Int64
		errs := make(chan error, 16)
		for c := 0; c < 16; c++ {
			go func() {
				path, rows := "/v1/odata/Activity_SalesOpportunity?$select=ID,Subject,EstimatedAmount,ExpectedOrderDate", 0
				for path != "" {
					var page struct {
						Next  string            `json:"@odata.nextLink"`
						Value []json.RawMessage `json:"value"`
					}
					if err := json.Unmarshal(odataBenchGet(b, srv, path, "Prefer", "odata.maxpagesize=1000"), &page); err != nil {
						errs <- err
						return
					}
					pages.Add(1)
					rows += len(page.Value)
					path = page.Next
				}
				if rows != odataBenchN {
					errs <- fmt.Errorf("paged %d rows, want %d", rows, odataBenchN)
					return
				}
				errs <- nil
			}()
		}
		for c := 0; c < 16; c++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		close(stop)
		<-done
		b.ReportMetric(float64(pages.Load())/time.Since(start).Seconds(), "pages/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	}
}
