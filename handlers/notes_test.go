package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// TestPanelNoteActionsRefusals: pinning and deleting a note from the panel is CSRF-checked, and
// a bad flag, a note of another activity or a rep who is not its author is refused with a 4xx
// and nothing written; the author's pin and delete go through. On both databases.
func TestPanelNoteActionsRefusals(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			srv := newServer(t, dialect, 0)
			s := srv.store
			ctx := context.Background()
			emps, _ := s.Employees(ctx)
			deal, other := newCard(t, s, "Noted"), newCard(t, s, "Elsewhere")
			text := "Written by the author"
			note, err := s.SaveNote(ctx, nil, models.NoteChanges{ActivityID: &deal.ID, Content: &text}, models.Actor{Role: models.RoleRep, EmployeeID: &emps[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			state := func() string {
				got, err := s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, n := range got {
					b.WriteString(n.Content)
					if n.IsPinned {
						b.WriteString(" (pinned)")
					}
					b.WriteString("; ")
				}
				return b.String()
			}
			before := state()
			path := func(activity string, action string) string {
				return "/board/activities/" + activity + "/notes/" + note.String() + "/" + action
			}
			pin := url.Values{"pinned": {"1"}}

			colleague := srv.client()
			_, cookie := authtest.Login(t, s, models.RoleRep, &emps[1].ID)
			colleague.useSession(cookie)
			colleague.get("/board/activities/" + deal.ID.String() + "/edit")
			author := srv.client()
			_, cookie = authtest.Login(t, s, models.RoleRep, &emps[0].ID)
			author.useSession(cookie)
			if _, page := author.get("/board/activities/" + deal.ID.String() + "/edit"); !strings.Contains(page, `data-testid="note-delete"`) {
				t.Fatal("the author's panel offers no delete")
			}
			if _, page := colleague.get("/board/activities/" + deal.ID.String() + "/edit"); strings.Contains(page, `data-testid="note-delete"`) {
				t.Fatal("a colleague's panel offers to delete the author's note")
			}
			noCSRF := srv.client()
			noCSRF.useSession(cookie)

			for _, tc := range []struct {
				name   string
				c      *client
				path   string
				form   url.Values
				status int
			}{
				{"no CSRF token", noCSRF, path(deal.ID.String(), "pin"), pin, 403},
				{"no CSRF token, delete", noCSRF, path(deal.ID.String(), "delete"), nil, 403},
				{"a flag that is neither 1 nor 0", author, path(deal.ID.String(), "pin"), url.Values{"pinned": {"yes"}}, 400},
				{"no flag", author, path(deal.ID.String(), "pin"), nil, 400},
				{"the note under another activity", author, path(other.ID.String(), "delete"), nil, 404},
				{"a malformed note id", author, "/board/activities/" + deal.ID.String() + "/notes/x/delete", nil, 404},
				{"a colleague pins", colleague, path(deal.ID.String(), "pin"), pin, 403},
				{"a colleague deletes", colleague, path(deal.ID.String(), "delete"), nil, 403},
			} {
				for _, htmx := range []bool{true, false} {
					res, body := tc.c.post(tc.path, tc.form, htmx)
					if res.StatusCode != tc.status {
						t.Errorf("%s (htmx %v): %d, want %d: %.200s", tc.name, htmx, res.StatusCode, tc.status, body)
					}
					if got := state(); got != before {
						t.Fatalf("%s wrote: %s → %s", tc.name, before, got)
					}
				}
			}

			if res, body := author.post(path(deal.ID.String(), "pin"), pin, true); res.StatusCode != 200 || !strings.Contains(body, "Note pinned.") ||
				!strings.Contains(body, `data-testid="note-unpin"`) {
				t.Fatalf("the author pins: %d %.300s", res.StatusCode, body)
			}
			if got := state(); got != text+" (pinned); " {
				t.Fatalf("after pinning: %s", got)
			}
			if res, _ := author.post(path(deal.ID.String(), "delete"), nil, false); res.StatusCode != 303 {
				t.Fatalf("the author deletes without JavaScript: %d", res.StatusCode)
			}
			if got := state(); got != "" {
				t.Fatalf("after deleting: %s", got)
			}
		})
	}
}
