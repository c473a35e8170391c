package models

import (
	"context"

	"github.com/google/uuid"
)

// Who may read which activities is one rule, ReadScope, applied wherever activities are read:
// the board (columns and their totals, cards, the edit panel), the forecast page, its CSV and the
// forecast board, pipeline health, and every OData read of an activity set or of a set that
// belongs to activities (product lines, involved parties, time registrations), $apply and
// $expand included. Who may change what is CanEditActivity.
//
// Managers, admins and the system read everything. What reps read is the installation's choice
// (Store.RepVisibility, env PHASEBOARD_REP_VISIBILITY):
//   - VisibilityTeam (the default): every activity; the team works on one shared board, and a
//     colleague's card is shown read-only.
//   - VisibilityOwn: their own activities and unassigned ones, everywhere; a colleague's deals
//     are invisible, their sums included.
//
// Anyone else (an unauthenticated request, an unknown role) reads nothing.
const (
	VisibilityTeam = "team"
	VisibilityOwn  = "own"
)

// ValidVisibility reports whether v is VisibilityTeam or VisibilityOwn.
func ValidVisibility(v string) bool { return v == VisibilityTeam || v == VisibilityOwn }

// Scope is what one reader may read of the activities.
type Scope struct {
	all   bool
	owner *uuid.UUID // !all: activities of this owner (and unassigned ones); nil: unassigned only
	none  bool
}

// ReadScope is the rule: what actor may read.
func (s *Store) ReadScope(a Actor) Scope {
	switch a.Role {
	case "", RoleManager, RoleAdmin:
		return Scope{all: true}
	case RoleRep:
		if s.RepVisibility != VisibilityOwn {
			return Scope{all: true}
		}
		return Scope{owner: a.EmployeeID}
	}
	return Scope{none: true}
}

// All reports whether the scope is every activity.
func (sc Scope) All() bool { return sc.all }

// Where is the scope as an SQL condition over an activities row, ownerColumn being its
// sales_representative_id (e.g. "a.sales_representative_id"); "" when the scope is everything.
// The condition's arguments are bound, never inlined.
func (sc Scope) Where(ownerColumn string) (string, []any) {
	switch {
	case sc.all:
		return "", nil
	case sc.none:
		return "1 = 0", nil
	case sc.owner == nil:
		return ownerColumn + " IS NULL", nil
	}
	return "(" + ownerColumn + " IS NULL OR " + ownerColumn + " = ?)", []any{*sc.owner}
}

// Allows reports whether the scope includes the activity.
func (sc Scope) Allows(a *Activity) bool {
	switch {
	case sc.all:
		return true
	case sc.none:
		return false
	case a.SalesRepresentativeID == nil:
		return true
	}
	return sc.owner != nil && *sc.owner == *a.SalesRepresentativeID
}

type actorKey struct{}

// WithActor returns ctx carrying who makes the request, for the reads that ReadScope limits. The
// web layer sets it on every request (an anonymous actor when nobody is logged in).
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor ctx carries; without one, the system (CLI, demo, tests), which reads
// everything.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// readScope is the scope of the actor ctx carries.
func (s *Store) readScope(ctx context.Context) Scope { return s.ReadScope(ActorFrom(ctx)) }
