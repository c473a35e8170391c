package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"phaseboard/handlers"
	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
	"phaseboard/web/servertest"
)

// Scale-out figures (issue 15): throughput with one and with two instances of the built binary
// on one PostgreSQL behind a round-robin proxy, and read throughput with and without a
// streaming replica. 16 clients each; the size is PHASEBOARD_BENCH_SCALE_OPPORTUNITIES (default
// 10,000). On one machine the instances, the replica and the clients share the cores: compare
// the figures of one run, not across machines.
//
//	go test -run '^$' -bench 'Instances|ReplicaReads' -benchtime 2000x ./handlers/

func scaleBenchSize() int {
	if v, err := strconv.Atoi(os.Getenv("PHASEBOARD_BENCH_SCALE_OPPORTUNITIES")); err == nil && v > 0 {
		return v
	}
	return 10000
}

// roundRobin is the trivial load balancer: each request to the next backend.
func roundRobin(tb testing.TB, backends []string) string {
	var targets []*url.URL
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			tb.Fatal(err)
		}
		targets = append(targets, u)
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[int(next.Add(1)-1)%len(targets)])
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64},
	}
	srv := httptest.NewServer(proxy)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// scaleLoad sends n requests from 16 clients and reports requests per second.
func scaleLoad(b *testing.B, n int, req func(i int) *http.Request) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
	elapsed := concurrently(b, n, 16, func(i int) error {
		resp, err := client.Do(req(i))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Errorf("%s: %d %.200s", resp.Request.URL, resp.StatusCode, body)
		}
		return nil
	})
	b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
}

var (
	instancesOnce  sync.Once
	instancesURLs  map[int]string // instances → the balancer's URL
	instancesToken string
	instancesKeys  []string
	instancesPhase []string
)

// BenchmarkInstances: a mix of API reads by key (3 in 4) and API moves (PATCH of the phase) from
// 16 clients, against one and against two phaseboard processes on one database, each behind
// the round-robin balancer.
func BenchmarkInstances(b *testing.B) {
	instancesOnce.Do(func() {
		tb := processTB{b}
		s := storetest.New(tb, migrations.Postgres)
		if err := s.LoadDemo(context.Background(), scaleBenchSize(), nil, nil); err != nil {
			b.Fatal(err)
		}
		s.DB.Exec("VACUUM ANALYZE activities, phases, phase_changes")
		pipe, phases := fixture(tb, s)
		s.DB.Model(&models.Activity{}).Where("type = ? AND pipeline_id = ?", models.SalesOpportunity.Type, pipe.ID).Limit(2000).Pluck("id::text", &instancesKeys)
		for _, name := range []string{"Qualification", "Proposal", "Negotiation"} {
			instancesPhase = append(instancesPhase, phases[name].ID.String())
		}
		instancesToken, _ = authtest.Token(tb, s, models.RoleManager, "read write", nil)
		bin := servertest.Build(tb)
		env := []string{"DATABASE_URL=" + storetest.URLOf(tb, s), "PHASEBOARD_API_RATE_LIMIT=1000000000", "PORT=0"}
		var procs []string
		for i := 0; i < 2; i++ {
			p := servertest.Start(tb, bin, env)
			p.WaitListening()
			procs = append(procs, p.URL)
		}
		instancesURLs = map[int]string{1: roundRobin(tb, procs[:1]), 2: roundRobin(tb, procs)}
	})
	if instancesURLs == nil {
		b.Fatal("benchmark set-up failed")
	}
	for _, n := range []int{1, 2} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			base := instancesURLs[n]
			scaleLoad(b, b.N, func(i int) *http.Request {
				key := instancesKeys[i%len(instancesKeys)]
				var r *http.Request
				if i%4 == 3 {
					body := `{"Phase@odata.bind": "Datastore_Phase_ActivitySalesOpportunity(` + instancesPhase[i%len(instancesPhase)] + `)"}`
					r, _ = http.NewRequest("PATCH", base+"/v1/odata/Activity_SalesOpportunity("+key+")", strings.NewReader(body))
					r.Header.Set("Content-Type", "application/json")
				} else {
					r, _ = http.NewRequest("GET", base+"/v1/odata/Activity_SalesOpportunity("+key+")", nil)
				}
				r.Header.Set("Authorization", "Bearer "+instancesToken)
				return r
			})
		})
	}
}

var (
	replicaBenchOnce  sync.Once
	replicaBenchURLs  map[string]string // "primary" | "replica" → server URL
	replicaBenchToken string
)

// BenchmarkReplicaReads: API list reads (the filter, expand, order, top) from 16 clients
// on an instance reading from the primary, and on one whose reads go to a streaming replica
// (clusters of the benchmark's own).
func BenchmarkReplicaReads(b *testing.B) {
	replicaBenchOnce.Do(func() {
		tb := processTB{b}
		primary := storetest.NewCluster(tb)
		replica := storetest.NewReplica(tb, primary)
		s := storetest.NewOn(tb, primary.URL)
		if err := s.LoadDemo(context.Background(), scaleBenchSize(), nil, nil); err != nil {
			b.Fatal(err)
		}
		s.DB.Exec("VACUUM ANALYZE activities, phases, phase_changes")
		replicaBenchToken, _ = authtest.Token(tb, s, models.RoleManager, "read", nil)
		replica.WaitReplayed()
		withReplica := storetest.Reopen(tb, s)
		if err := withReplica.UseReplicas(models.ReplicaConfig{URLs: []string{replica.On(storetest.URLOf(tb, s))}}); err != nil {
			b.Fatal(err)
		}
		replicaBenchURLs = map[string]string{}
		for name, st := range map[string]*models.Store{"primary": s, "replica": withReplica} {
			app := web.New(web.Config{Store: st})
			handlers.Register(app, &handlers.Handler{Store: st, APIRateLimit: 1 << 30})
			ts := httptest.NewUnstartedServer(nil)
			go app.Listener(ts.Listener)
			tb.Cleanup(func() { app.Shutdown() })
			replicaBenchURLs[name] = "http://" + ts.Listener.Addr().String()
		}
	})
	if replicaBenchURLs == nil {
		b.Fatal("benchmark set-up failed")
	}
	const q = "/v1/odata/Activity_SalesOpportunity?$filter=Probability%20gt%2050&$expand=Phase($select=Name,Code)&$orderby=ExpectedOrderDate&$top=100"
	for _, name := range []string{"primary", "replica"} {
		b.Run(name, func(b *testing.B) {
			scaleLoad(b, b.N, func(int) *http.Request {
				r, _ := http.NewRequest("GET", replicaBenchURLs[name]+q, nil)
				r.Header.Set("Authorization", "Bearer "+replicaBenchToken)
				return r
			})
		})
	}
}
