package views

import (
	"github.com/a-h/templ"
	"github.com/google/uuid"

	"phaseboard/models"
)

// Page is what every full page passes to the layout.
type Page struct {
	Title string
	CSRF  string
	Nav   string       // the active top-level section: "board", "forecast", ...
	User  *models.User // the logged-in user, nil on the login page
	Fill  bool         // a board: the page fills the window and its columns scroll
}

// BoardView is the pipeline board page: filters above, one column per phase.
type BoardView struct {
	Page
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Filter    models.BoardFilter
	Query     string // the filter as a URL query, for links and fragments
	Live      string // the page's live stream (handlers/live.go)
	Board     Board
	QuickAdd  QuickAdd
	Views     SavedViews
	Panel     templ.Component // an open edit panel (no-JS edit page), or nil
}

// SavedViews is a board's saved views of the logged-in user, and saving the current one.
type SavedViews struct {
	Page  string // models.SavedViewBoard or models.SavedViewForecastBoard
	Path  string // "/board", "/forecast/board"
	Query string // the current view's query
	Views []models.SavedView
	CSRF  string
}

// QuickAdd is the board's "Add deal" form: what a rep knows at that moment.
type QuickAdd struct {
	Noun        string   // "deal", "invoice" …
	Sales       bool     // a deal: estimated amount and expected date
	AmountField string   // estimated_amount for a deal, amount for other kinds
	Phases      []Option // the open phases; the first is the default
	Customers   []string // the type-ahead's names
	CSRF        string
	Return      string
}

// Board is what both boards (the pipeline board and the forecast board) draw: columns of cards
// and, while a card is dragged, the won and lost drop targets.
type Board struct {
	TestID  string // "board" or "forecast-board"
	Columns []Column
	Drops   []Column // drop targets shown while dragging (won, lost); without cards
	Empty   string   // said when no column holds a card ("" to say nothing)
}

// Column is one column of a board: a phase, or a month of expected order dates.
type Column struct {
	DOMID       string // the section's id: "col-<phase id>", "month-2026-03"
	Title       string
	Outcome     string // "won", "lost" or "" (an open phase, a month): how it looks
	OutcomeText string // its badge: "won"/"lost" for deals, "done"/"closed" for other kinds
	Count       int64
	Figures     []Figure
	Cards       []Card
	MoreURL     string // the next page of this column's cards; "" when every card is shown
	Drop        Drop
}

// Figure is one figure of a column header ("Weighted € 12,000"). NoRate counts the column's
// deals that are in its count but not in the sum, for want of an exchange rate (flagged).
type Figure struct {
	Label, Value, TestID string
	NoRate               int64
}

// Drop says where a card dropped on a column goes: a POST to URL (its {id} replaced by the
// card's id) with Name=Value, e.g. phase_id=<id> or month=2026-03. A column without a URL takes
// no drops (the forecast board's Overdue).
type Drop struct {
	URL, Name, Value string
}

// Card is one activity on a board, as compact as a rep scans it: subject, customer, amount,
// owner, expected date and the marks that matter; the rest is in its panel, and its "Move to"
// (and forecast category) open on demand from MoveURL. Its links carry no board state: the
// server takes the way back from the page (htmx) or the Referer (no JavaScript).
type Card struct {
	ID            string
	Subject       string
	Customer      string
	Amount        string
	Owner         string
	OwnerName     string // in full, for the owner's tooltip
	Expected      string // "12 Mar 2027", "" without a date
	ExpectedValue string // "2027-03-12"
	Closed        bool
	ReadOnly      bool // the viewer may not change it
	Marks         []Mark
	EditURL       string      // the panel (htmx) or the edit page
	MoveURL       string      // the "Move to" panel or page
	Fields        []CardField // custom fields an admin put on cards, those with a value
	// Version is the activity's version this page shows: a move sends it back, and a move
	// from a stale page is refused (409) instead of applied blindly.
	Version int
}

// CardField is a custom field's value on a card.
type CardField struct {
	Label, Value string
}

// MovePanel is a card's "Move to" on demand: one button per column it can go to, and on the
// forecast board its forecast category.
type MovePanel struct {
	CardID   string
	Version  int // the card's version as the panel shows it: a stale move is refused (409)
	Subject  string
	Move     Choice
	Category *Choice
	CSRF     string
	Return   string // the board's query, for plain form posts
	Back     string // the board's URL
	FullPage bool
}

// Mark is a badge on a card ("Overdue", "Idle 23 days", "Lost: Price too high").
type Mark struct {
	Class, Text, Title, TestID string
}

// Choice is a small form on a card: a select named Name posted to URL.
type Choice struct {
	URL, Name, Label string
	Hidden           [][2]string // extra fields: name, value (version)
	Options          []Option
	Button           string
}

// Option is one option of a Choice.
type Option struct {
	Value, Label string
	Selected     bool
}

// ActivityForm is the edit panel of an activity of any kind: what the user typed and what was
// wrong with it. Sales says whether the sales fields (estimated amount, probability, expected
// order date) apply; other kinds have an amount instead.
type ActivityForm struct {
	ID        string
	Version   int
	Number    string
	Noun      string // "opportunity", "invoice" …
	Sales     bool
	Values    map[string]string // field name → the value as typed
	Errors    map[string]string // field name → message
	Message   string            // a form-level error (stale edit)
	Reps      []models.Employee
	Customers []models.Relationship

	// The deal's page around the form: where it stands and how it got there.
	Subject    string
	Phase      string
	Outcome    string // "won", "lost" or "" while open
	Category   string // its forecast category (deals), "" for other kinds
	LostReason string // why it was lost, and to whom
	Competitor string
	History    []HistoryItem
	Notes      []NoteItem // pinned first, then oldest first; a note being added is Values["note"]
	ReadOnly   bool       // the viewer may not change it: the form is shown disabled
	Reopen     *Choice    // one action back to the open phase it left; nil while open

	Query    string // the board's filter (plain form posts go back with it)
	Back     string // where Close returns: the board the panel was opened from
	FullPage bool   // the edit page without JavaScript, not the side panel
	CSRF     string
	Saved    bool

	// Custom are the kind's custom fields, their values in Values under their Name.
	Custom []CustomInput
}

// CustomInput is one custom field of the edit panel.
type CustomInput struct {
	Field   uuid.UUID
	Name    string // the form field
	APIName string // the API's name, which the domain's errors use
	Label   string
	Kind    string   // models.CustomText …
	Choices []string // a choice list's
	Options []Option // a link's choices when they can be listed (customers, employees); else an ID is typed
}

// HistoryItem is one move of the card's timeline.
type HistoryItem struct {
	When     string // "12 Mar 2026, 14:05"
	Datetime string // its machine-readable form
	Text     string // "Qualification → Proposal", "Created in Qualification"
	By       string
}

// NoteItem is one note of the panel.
type NoteItem struct {
	ID       string
	Content  string
	Pinned   bool
	When     string // "12 Mar 2026, 14:05"
	Datetime string
	By       string
	// MayChange: the viewer may pin, unpin and delete it (models.MayChangeNote).
	MayChange bool
}

// LostPrompt asks why an opportunity was lost, after it entered a lost phase.
type LostPrompt struct {
	ID          string
	Subject     string
	Reasons     []models.LostReason
	Competitors []models.Competitor
	Query       string
	CSRF        string
}

// CloseChoiceName is how the filter bar names an expected-close choice (models.CloseChoices).
func CloseChoiceName(choice string) string {
	return map[string]string{models.CloseThisMonth: "This month", models.CloseThisQuarter: "This quarter",
		models.CloseNextQuarter: "Next quarter", models.CloseOverdue: "Overdue", models.CloseNoDate: "No date"}[choice]
}
