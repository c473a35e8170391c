package main

// Tests of the command itself, on the built binary: help, password reset, where and when it
// listens, and a graceful SIGTERM.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/servertest"
)

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and runs the binary")
	}
	return servertest.Build(t)
}

// sqliteEnv is an environment with a fresh embedded database file.
func sqliteEnv(t *testing.T) ([]string, string) {
	path := filepath.Join(t.TempDir(), "pb.db")
	return []string{"DATABASE_URL=sqlite:" + path, "PHASEBOARD_HOST=", "PORT="}, path
}

// TestHelp: `phaseboard --help` and every command's --help print a real usage and exit 0.
func TestHelp(t *testing.T) {
	bin := binary(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage: phaseboard [command]", "serve", "migrate", "user reset-password", "client add", "DATABASE_URL"}},
		{[]string{"-h"}, []string{"Usage: phaseboard [command]"}},
		{[]string{"help"}, []string{"Usage: phaseboard [command]"}},
		{[]string{"serve", "--help"}, []string{"Usage: phaseboard serve", "-port", "-host", "127.0.0.1", "-shutdown-timeout"}},
		{[]string{"migrate", "--help"}, []string{"Usage: phaseboard migrate"}},
		{[]string{"demo", "--help"}, []string{"Usage: phaseboard demo", "-opportunities"}},
		{[]string{"user", "--help"}, []string{"Usage: phaseboard user COMMAND", "reset-password"}},
		{[]string{"user", "add", "--help"}, []string{"Usage: phaseboard user add", "-email", "-role"}},
		{[]string{"user", "reset-password", "--help"}, []string{"Usage: phaseboard user reset-password", "-email", "-password"}},
		{[]string{"client", "--help"}, []string{"Usage: phaseboard client COMMAND"}},
		{[]string{"client", "add", "--help"}, []string{"Usage: phaseboard client add", "-scopes"}},
	} {
		code, out := servertest.Run(t, bin, nil, tc.args...)
		if code != 0 || strings.Contains(out, "Usage of") || strings.Contains(out, "help requested") {
			t.Fatalf("phaseboard %v: exit %d\n%s", tc.args, code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Fatalf("phaseboard %v: no %q in\n%s", tc.args, w, out)
			}
		}
	}
	if code, out := servertest.Run(t, bin, nil, "bogus"); code == 0 || !strings.Contains(out, "Usage: phaseboard") {
		t.Fatalf("an unknown command: exit %d\n%s", code, out)
	}
}

// TestUserResetPassword: a lost password (the first admin's generated one, say) can be reset from
// the command line, generated or given; the old one stops working and the sessions end.
func TestUserResetPassword(t *testing.T) {
	bin := binary(t)
	env, path := sqliteEnv(t)
	if code, out := servertest.Run(t, bin, env, "user", "add", "--email", "Ann@Example.com", "--role", "admin", "--password", "first-password"); code != 0 {
		t.Fatalf("user add: %d\n%s", code, out)
	}
	if code, out := servertest.Run(t, bin, env, "user", "add", "--email", "ann@example.com", "--role", "admin"); code == 0 {
		t.Fatalf("adding the same email again succeeded:\n%s", out)
	}
	s, err := models.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	u, err := s.Authenticate(ctx, "ann@example.com", "first-password")
	if err != nil {
		t.Fatal(err)
	}
	session, _, _ := s.CreateSession(ctx, u.ID)

	code, out := servertest.Run(t, bin, env, "user", "reset-password", "--email", "ANN@example.com")
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("reset-password: %d\n%s", code, out)
	}
	if _, err := s.Authenticate(ctx, "ann@example.com", m[1]); err != nil {
		t.Fatalf("the generated password does not work: %v", err)
	}
	if _, err := s.Authenticate(ctx, "ann@example.com", "first-password"); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := s.SessionUser(ctx, session); err == nil {
		t.Fatal("the session survived the reset")
	}
	if code, out := servertest.Run(t, bin, env, "user", "reset-password", "--email", "ann@example.com", "--password", "chosen-password"); code != 0 || strings.Contains(out, "password:") {
		t.Fatalf("reset-password --password: %d\n%s", code, out)
	}
	if _, err := s.Authenticate(ctx, "ann@example.com", "chosen-password"); err != nil {
		t.Fatal("the chosen password does not work")
	}
	for _, args := range [][]string{
		{"user", "reset-password", "--email", "nobody@example.com"},
		{"user", "reset-password", "--email", "ann@example.com", "--password", "short"},
		{"user", "reset-password"},
	} {
		if code, out := servertest.Run(t, bin, env, args...); code == 0 {
			t.Fatalf("%v succeeded:\n%s", args, out)
		}
	}
}

// TestBindBeforeRunning: with the port taken, the server fails to start and never says it runs.
func TestBindBeforeRunning(t *testing.T) {
	bin := binary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env, _ := sqliteEnv(t)
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	code, out := servertest.Run(t, bin, env, "serve", "--port", port)
	if code == 0 || strings.Contains(out, "Phaseboard is running") || !strings.Contains(out, "address already in use") {
		t.Fatalf("serve on a taken port: exit %d\n%s", code, out)
	}
}

// TestListenAddress: the embedded demo (published passwords) listens on loopback unless told
// otherwise; PostgreSQL deployments listen on every interface.
func TestListenAddress(t *testing.T) {
	for _, tc := range []struct {
		host     string
		postgres bool
		want     string
	}{
		{"", false, "127.0.0.1:8080"},
		{"", true, ":8080"},
		{"0.0.0.0", false, "0.0.0.0:8080"},
		{"::1", true, "[::1]:8080"},
	} {
		if got := listenAddress(tc.host, "8080", tc.postgres); got != tc.want {
			t.Errorf("listenAddress(%q, postgres %v) = %q, want %q", tc.host, tc.postgres, got, tc.want)
		}
	}
	bin := binary(t)
	start := func(env []string, args ...string) string {
		p := servertest.Start(t, bin, env, append([]string{"serve", "--port", "0"}, args...)...)
		addr := p.WaitListening()
		p.Signal(syscall.SIGTERM)
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGTERM:\n%s", code, p.Output())
		}
		return addr
	}
	env, _ := sqliteEnv(t)
	if addr := start(env); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("embedded database listens on %s", addr)
	}
	everywhere := func(addr string) bool { return strings.HasPrefix(addr, "0.0.0.0:") || strings.HasPrefix(addr, "[::]:") }
	if addr := start(env, "--host", "0.0.0.0"); !everywhere(addr) {
		t.Fatalf("embedded database with --host 0.0.0.0 listens on %s", addr)
	}
	if addr := start(append(env, "PHASEBOARD_HOST=0.0.0.0")); !everywhere(addr) {
		t.Fatalf("embedded database with PHASEBOARD_HOST=0.0.0.0 listens on %s", addr)
	}
	pg := []string{"DATABASE_URL=" + storetest.URL(t, migrations.Postgres), "PHASEBOARD_HOST="}
	if addr := start(pg); !everywhere(addr) {
		t.Fatalf("PostgreSQL deployment listens on %s only", addr)
	}
}

// TestGracefulShutdown: SIGTERM stops accepting, lets the requests in flight finish (each gets
// its answer and its write), then closes the pool and exits 0. The requests are held up in the
// database: the test locks the cards they move.
func TestGracefulShutdown(t *testing.T) {
	bin := binary(t)
	s := storetest.New(t, migrations.Postgres)
	dbURL := storetest.URLOf(t, s)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	pipes, _ := s.Pipelines(ctx)
	phases, _ := s.Phases(ctx, pipes[0].ID)
	var cards []string
	for i := 0; i < 4; i++ {
		subject := fmt.Sprint("held ", i)
		a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipes[0].ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, a.ID.String())
	}
	_, cookie := authtest.Login(t, s, models.RoleManager, nil)

	p := servertest.Start(t, bin, []string{"DATABASE_URL=" + dbURL, "PHASEBOARD_SHUTDOWN_TIMEOUT=30s"}, "serve", "--port", "0", "--host", "127.0.0.1")
	p.WaitListening()
	csrf := boardToken(t, p.URL, cookie)

	// Hold the cards: every move waits for this transaction.
	lock, err := s.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := lock.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // also when the test fails early: the schema's cleanup waits for the lock
	if _, err := tx.Exec(`SELECT id FROM activities WHERE id = ANY($1::uuid[]) FOR UPDATE`, "{"+strings.Join(cards, ",")+"}"); err != nil {
		t.Fatal(err)
	}
	var holder int
	if err := tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(cards))
	for i, id := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"phase_id": {phases[1].ID.String()}}
			req, _ := http.NewRequest("POST", p.URL+"/board/opportunities/"+id+"/move", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			req.Header.Set("X-CSRF-Token", csrf)
			req.AddCookie(cookie)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("move %d: no answer: %v", i, err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	waitFor(t, func() bool { return blockedBy(t, s, holder) >= len(cards) })

	p.Signal(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("phaseboard exited with requests in flight:\n%s", p.Output())
	}
	if _, err := http.Get(p.URL + "/healthz"); err == nil {
		t.Fatal("a new connection was accepted after SIGTERM")
	}
	tx.Rollback() // let the moves go on
	wg.Wait()
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.Output())
	}
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("move %d in flight at SIGTERM answered %d:\n%s", i, st, p.Output())
		}
	}
	var moved int64
	s.DB.Table("phase_changes").Where("activity_id IN ? AND to_phase_id = ?", cards, phases[1].ID).Count(&moved)
	if moved != int64(len(cards)) || strings.Contains(p.Output(), "database is closed") {
		t.Fatalf("%d of %d moves recorded\n%s", moved, len(cards), p.Output())
	}
}

// boardToken opens the board with the session cookie and returns its CSRF token.
func boardToken(t *testing.T, base string, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/board", nil)
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`).FindSubmatch(b)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("board: %d", res.StatusCode)
	}
	return string(m[1])
}

// blockedBy counts the database sessions waiting for a lock that backend pid holds.
func blockedBy(t *testing.T, s *models.Store, pid int) int {
	var n int64
	if err := s.DB.Raw(`SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, pid).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClientAddRedirectURIs: `phaseboard client add --redirect-uri` registers the client for
// the authorization code flow; a URI the flow would refuse refuses the whole client.
func TestClientAddRedirectURIs(t *testing.T) {
	bin := binary(t)
	env, path := sqliteEnv(t)
	code, out := servertest.Run(t, bin, env, "client", "add", "--name", "mcp", "--scopes", "read,write",
		"--redirect-uri", "https://mcp.example/cb", "--redirect-uri", "http://localhost:8787/cb")
	if code != 0 || !strings.Contains(out, "redirect_uri:  https://mcp.example/cb") {
		t.Fatalf("client add: %d\n%s", code, out)
	}
	if code, out := servertest.Run(t, bin, env, "client", "add", "--name", "bad", "--redirect-uri", "http://mcp.example/cb"); code == 0 {
		t.Fatalf("a plain-http redirect URI was accepted:\n%s", out)
	}
	s, err := models.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clients, err := s.APIClients(context.Background())
	if err != nil || len(clients) != 1 || strings.Join(clients[0].RedirectURIList(), " ") != "https://mcp.example/cb http://localhost:8787/cb" {
		t.Fatalf("clients: %+v %v", clients, err)
	}
}
