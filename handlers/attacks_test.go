package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestAttacksFail: forged posts, oversized bodies and stored scripts get nowhere.
func TestAttacksFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		ctx := context.Background()
		mgr := a.session(models.RoleManager, nil)
		sales, _ := s.SalesPipelines(ctx)
		phases, _ := s.Phases(ctx, sales[0].ID)

		// CSRF: a logged-in user's cookie without the token (what another site's form sends).
		form := url.Values{"phase_id": {phases[0].ID.String()}, "subject": {"forged"}}
		if r := a.form("/board/opportunities", form, "", mgr.cookie, mgr.csrf); r.status != 403 {
			t.Fatalf("POST without CSRF token: %d", r.status)
		}
		if r := a.form("/board/opportunities", form, "not-the-token", mgr.cookie, mgr.csrf); r.status != 403 {
			t.Fatalf("POST with a wrong CSRF token: %d", r.status)
		}
		if cols, _ := s.Columns(ctx, models.BoardFilter{PipelineID: sales[0].ID, Status: models.StatusAll}); cols[0].Count != 0 {
			t.Fatal("a forged post created an opportunity")
		}

		// Oversized body: 413 before any handler runs (over a real connection: app.Test gives
		// up on the closed connection instead of reading the answer).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go a.app.Listener(ln)
		t.Cleanup(func() { a.app.Shutdown() })
		// The request announces 2 MiB; the server answers 413 from the headers alone, so the
		// test sends only the headers (writing the whole body races the server's close).
		for _, path := range []string{"/board/opportunities", "/oauth2/token", "/login"} {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: %d\r\nX-CSRF-Token: %s\r\nCookie: %s=%s\r\n\r\nsubject=",
				path, 2<<20, mgr.token, mgr.cookie.Name, mgr.cookie.Value)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			conn.Close()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if res.StatusCode != 413 {
				t.Fatalf("oversized body to %s: %d", path, res.StatusCode)
			}
		}

		// Stored XSS: a script in a subject and a customer name is escaped on the board and in
		// the edit panel.
		script := `<script>alert("x")</script>`
		rels, _ := s.Relationships(ctx)
		relID := rels[0].ID
		if err := s.DB.Exec("UPDATE relations SET name = ? WHERE id = (SELECT organization_id FROM relationships WHERE id = ?)", script+"Corp", relID).Error; err != nil {
			t.Fatal(err)
		}
		subj := script + " deal"
		opp, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, PipelineID: &sales[0].ID, RelationshipID: &relID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/board", "/board/opportunities/" + opp.ID.String() + "/edit"} {
			r := a.get(path, mgr.cookie)
			if r.status != 200 {
				t.Fatalf("%s: %d", path, r.status)
			}
			if strings.Contains(r.body, "<script>alert") {
				t.Fatalf("%s: the script is not escaped", path)
			}
			if !strings.Contains(r.body, "&lt;script&gt;alert(") {
				t.Fatalf("%s: the escaped subject is missing", path)
			}
		}
	})
}
