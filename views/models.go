package views

import (
	"time"

	"github.com/a-h/templ"

	"phaseboard/models"
)

// Page is what every full page passes to the layout.
type Page struct {
	Title string
	CSRF  string
	Nav   string       // the active top-level section: "board", "forecast", ...
	User  *models.User // the logged-in user, nil on the login page
}

// BoardView is the board page.
type BoardView struct {
	Page
	Pipelines []models.Pipeline
	Reps      []models.Employee
	Filter    models.BoardFilter
	Query     string // the filter as a URL query, for links and fragments
	Columns   []ColumnView
	Panel     templ.Component // an open edit panel (no-JS edit page), or nil
}

// ColumnView is one column with its first cards.
type ColumnView struct {
	Column models.Column
	Cards  []models.Card
	More   bool // more cards than shown
	Board  *BoardContext
}

// BoardContext is what every card and column of a board needs to render its controls.
type BoardContext struct {
	Kind   *models.Kind // what the board's pipeline holds
	Phases []models.Phase
	Query  string
	CSRF   string
	Now    time.Time
	Usual  models.UsualDays // the phases' usual times, for the cards' rotting marks
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
	Query     string
	CSRF      string
	Saved     bool
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
