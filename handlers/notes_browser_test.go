package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/models"
	"phaseboard/web/browsertest"
)

// TestBrowserNotesInThePanel: the edit panel lists a card's notes (pinned first, with their
// author) and adds one through its CSRF-checked form; an empty note is refused in place with
// nothing written; the lost prompt's optional note is kept as a note of the deal (issue 11).
func TestBrowserNotesInThePanel(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, base, page, _, deal := dealForNotes(t, size, "Noted deal")
			ctx := context.Background()
			old, pinned := "Met at the fair", "Decision in May"
			yes := true
			for _, ch := range []models.NoteChanges{{Content: &old}, {Content: &pinned, IsPinned: &yes}} {
				ch.ActivityID = &deal.ID
				_, err := s.SaveNote(ctx, nil, ch, models.Actor{})
				must(t, err)
			}
			goTo(t, page, base, "/board")
			card := page.Locator("#card-" + deal.ID.String())
			must(t, card.GetByTestId("card-subject").Click())
			panel := page.Locator(`#panel [data-testid="edit-panel"]`)
			notes := panel.GetByTestId("notes")
			must(t, expect.Locator(notes.GetByTestId("note-content")).ToHaveText([]string{"Decision in May", "Met at the fair"}))
			must(t, expect.Locator(notes.GetByTestId("note").First().GetByTestId("note-pinned")).ToBeVisible())

			// An empty note is refused where it was typed; nothing is written.
			must(t, notes.GetByTestId("note-save").Click())
			must(t, expect.Locator(panel.GetByTestId("error-note")).ToContainText("needs its text"))
			if got, _ := s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID); len(got) != 2 {
				t.Fatalf("a refused note wrote: %d notes", len(got))
			}
			// A note with a line break and markup is kept as typed, shown as text.
			text := "Called Jan <b>twice</b>\nsends the quote Friday"
			must(t, panel.GetByTestId("note-text").Fill(text))
			must(t, panel.GetByTestId("note-save").Click())
			must(t, expect.Locator(panel.GetByTestId("note-content")).ToHaveCount(3))
			must(t, expect.Locator(panel.GetByTestId("note-content").Last()).ToHaveText(text))
			must(t, expect.Locator(panel.GetByTestId("note").Last()).ToContainText("by Anna de Vries"))
			if v, _ := panel.GetByTestId("note-text").InputValue(); v != "" {
				t.Errorf("the note field after adding: %q", v)
			}
			got, err := s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID)
			must(t, err)
			if len(got) != 3 || got[2].Content != text {
				t.Fatalf("stored notes: %+v", got)
			}
			must(t, panel.GetByTestId("panel-close").Click())

			// Lost by "Move to": the prompt's note is stored with the reason.
			must(t, card.GetByTestId("card-move").Click())
			must(t, page.GetByTestId("move-panel").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Lost"}).Click())
			lost := page.Locator(`#panel [data-testid="lost-panel"]`)
			reasons, err := s.LostReasons(ctx)
			must(t, err)
			_, err = lost.GetByTestId("lost-reason").SelectOption(playwright.SelectOptionValues{Values: &[]string{reasons[0].ID.String()}})
			must(t, err)
			must(t, lost.GetByTestId("lost-note").Fill("Chose the cheaper offer"))
			must(t, lost.GetByTestId("lost-save").Click())
			must(t, expect.Locator(page.Locator("#announcer")).ToContainText("Saved why"))
			got, err = s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID)
			must(t, err)
			if len(got) != 4 || !strings.Contains(got[3].Content, "cheaper offer") {
				t.Fatalf("notes after the lost prompt: %+v", got)
			}
			opp, err := s.Activity(ctx, deal.ID)
			must(t, err)
			if opp.LostReasonID == nil || *opp.LostReasonID != reasons[0].ID {
				t.Fatalf("lost reason %v", opp.LostReasonID)
			}
		})
	}
}

// TestBrowserPinAndDeleteNotes: in the edit panel the author (here a manager) pins a note, which
// moves first with its badge, unpins it and deletes one, each through the panel's CSRF-checked
// form posts, announced, and stored.
func TestBrowserPinAndDeleteNotes(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, base, page, emps, deal := dealForNotes(t, size, "Pinned deal")
			ctx := context.Background()
			anna := models.Actor{Role: models.RoleManager, EmployeeID: &emps[0].ID}
			for _, text := range []string{"First call", "Budget approved"} {
				_, err := s.SaveNote(ctx, nil, models.NoteChanges{ActivityID: &deal.ID, Content: &text}, anna)
				must(t, err)
			}
			stored := func() []models.NoteView {
				got, err := s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID)
				must(t, err)
				return got
			}
			goTo(t, page, base, "/board")
			must(t, page.Locator("#card-"+deal.ID.String()).GetByTestId("card-subject").Click())
			panel := page.Locator(`#panel [data-testid="edit-panel"]`)
			contents := panel.GetByTestId("note-content")
			must(t, expect.Locator(contents).ToHaveText([]string{"First call", "Budget approved"}))

			// Pin the second: it comes first, marked.
			must(t, panel.GetByTestId("note").Nth(1).GetByTestId("note-pin-toggle").Click())
			must(t, expect.Locator(page.Locator("#announcer")).ToContainText("Note pinned."))
			must(t, expect.Locator(contents).ToHaveText([]string{"Budget approved", "First call"}))
			must(t, expect.Locator(panel.GetByTestId("note").First().GetByTestId("note-pinned")).ToBeVisible())
			if got := stored(); !got[0].IsPinned || got[0].Content != "Budget approved" {
				t.Fatalf("stored after pinning: %+v", got)
			}
			// Unpin it again.
			must(t, panel.GetByTestId("note").First().GetByTestId("note-unpin").Click())
			must(t, expect.Locator(page.Locator("#announcer")).ToContainText("Note unpinned."))
			must(t, expect.Locator(panel.GetByTestId("note-pinned")).ToHaveCount(0))
			must(t, expect.Locator(contents).ToHaveText([]string{"First call", "Budget approved"}))
			// Delete the first.
			must(t, panel.GetByTestId("note").First().GetByTestId("note-delete").Click())
			must(t, expect.Locator(page.Locator("#announcer")).ToContainText("Note deleted."))
			must(t, expect.Locator(contents).ToHaveText([]string{"Budget approved"}))
			if got := stored(); len(got) != 1 || got[0].Content != "Budget approved" || got[0].IsPinned {
				t.Fatalf("stored after deleting: %+v", got)
			}
		})
	}
}

// dealForNotes is a demo board in a page logged in as a manager who is the first employee (Anna
// de Vries, the author of the notes the page adds), and a new deal named subject.
func dealForNotes(t *testing.T, size browsertest.Viewport, subject string) (*models.Store, string, playwright.Page, []models.Employee, *models.Activity) {
	t.Helper()
	s, base, page := demoBoard(t, 10, size, "/board")
	emps, err := s.Employees(context.Background())
	must(t, err)
	logInAs(t, s, page, base, models.RoleManager, &emps[0].ID)
	return s, base, page, emps, newCard(t, s, subject)
}
