package models

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// What a change did to its entity (Change.Op).
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// Change is what one write did to one entity. Every write in the Store reports its changes
// through emit, inside its own transaction, so that whatever follows the changes (the change
// feed, live boards, webhooks, forecast history) sees every committed change and nothing of a
// rolled-back one.
type Change struct {
	EntityType string // the entity's _Type: "Activity.Invoice", "Datastore.Phase.ActivityInvoice", "Pipeline" …
	EntityID   uuid.UUID
	Op         string // ChangeCreated, ChangeUpdated or ChangeDeleted
	// An activity's phase before and after the change; equal when the phase did not change.
	FromPhaseID, ToPhaseID *uuid.UUID
	Version                int // the entity's version after the change (0 for entities without one)
	Actor                  Actor
	At                     time.Time
	// Before and After are the activity as it was and as it is (nil for other entities; Before
	// is nil on create, After on delete).
	Before, After *Activity
}

// PhaseChanged reports whether the change moved an activity to another phase (or created it).
func (c *Change) PhaseChanged() bool {
	return c.ToPhaseID != nil && (c.FromPhaseID == nil || *c.FromPhaseID != *c.ToPhaseID)
}

// ChangeHook is called with every change, in the write's transaction; an error rolls it back.
type ChangeHook func(tx *gorm.DB, c *Change) error

// OnChange adds a hook that every change passes through. Register hooks at start-up, before the
// store serves requests.
func (s *Store) OnChange(h ChangeHook) { s.changeHooks = append(s.changeHooks, h) }

// emit hands a change to the hooks. Every write of the Store calls it.
func (s *Store) emit(tx *gorm.DB, c Change) error {
	for _, h := range s.changeHooks {
		if err := h(tx, &c); err != nil {
			return err
		}
	}
	return nil
}

// recordChange describes the write of an entity without a version (pipelines, phases,
// customers …).
func recordChange(typ string, id uuid.UUID, op string, actor Actor, now time.Time) Change {
	return Change{EntityType: typ, EntityID: id, Op: op, Actor: actor, At: now}
}

// activityChange describes the write of an activity: before is nil on create, after nil on delete.
func activityChange(op string, before, after *Activity, actor Actor, now time.Time) Change {
	c := Change{Op: op, Actor: actor, At: now, Before: before, After: after}
	cur := after
	if cur == nil {
		cur = before
	}
	c.EntityType, c.EntityID, c.Version = cur.Type, cur.ID, cur.Version
	if before != nil {
		from := before.PhaseID
		c.FromPhaseID = &from
	}
	if after != nil {
		to := after.PhaseID
		c.ToPhaseID = &to
	}
	return c
}
