package models

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// TypeNote is the discriminator of an activity's notes (Tribe's Notes).
const TypeNote = "Note"

// maxActivityNoteLength bounds a note's Content (a long email pasted in fits).
const maxActivityNoteLength = 10000

// Note is text kept on an activity, of every kind; pinned notes come first. CreatedBy is the
// employee who wrote it.
type Note struct {
	Standard
	ActivityID uuid.UUID `gorm:"type:uuid"`
	Content    string
	IsPinned   bool
	CreatedBy  *uuid.UUID `gorm:"type:uuid;column:created_by"`
}

func (Note) TableName() string { return "notes" }

// NoteChanges creates or changes a note. ActivityID is set on create only (a note stays on its
// activity); in a deep insert the activity being created sets it.
type NoteChanges struct {
	ActivityID *uuid.UUID
	Content    *string
	IsPinned   *bool
	ImportID   *string
}

// MayChangeNote is who may change (pin, unpin, edit) or delete a note that exists: its author,
// a manager or an administrator (or the system), among those who may edit its activity.
// Writing a new one follows the activity's edit rule alone.
func MayChangeNote(a Actor, n *Note) bool {
	switch a.Role {
	case "", RoleManager, RoleAdmin:
		return true
	}
	return a.EmployeeID != nil && n.CreatedBy != nil && *a.EmployeeID == *n.CreatedBy
}

var errNotYourNote = Errorf(EForbidden, "Only the note's author, a manager or an administrator may change or delete it.")

// SaveNote creates (id nil) or changes a note, if actor may edit its activity: the activity's
// edit rule is the note's (a rep writes on their own and unassigned activities), and a note
// that exists is changed by whom MayChangeNote says.
func (s *Store) SaveNote(ctx context.Context, id *uuid.UUID, ch NoteChanges, actor Actor) (uuid.UUID, error) {
	n := &Note{}
	err := s.saveRecord(ctx, n, id, TypeNote, "note", ch.ImportID, nil, actor, func(tx *gorm.DB, creating bool) error {
		switch {
		case creating && ch.ActivityID == nil:
			return FieldError("Activity", "A note needs its activity (Activity).")
		case creating:
			n.ActivityID = *ch.ActivityID
			n.CreatedBy = actor.EmployeeID
		case ch.ActivityID != nil && *ch.ActivityID != n.ActivityID:
			return FieldError("Activity", "A note cannot move to another activity.")
		case !MayChangeNote(actor, n):
			return errNotYourNote
		}
		if err := applyNote(n, ch, creating); err != nil {
			return err
		}
		return s.lockLineOwner(tx, n.ActivityID, actor)
	}, nil)
	return n.ID, err
}

// applyNote validates and applies a note's own fields: Content is required, of at most
// maxActivityNoteLength characters.
func applyNote(n *Note, ch NoteChanges, creating bool) error {
	if creating && (ch.Content == nil || strings.TrimSpace(*ch.Content) == "") {
		return FieldError("Content", "A note needs its text (Content).")
	}
	if err := setText(&n.Content, ch.Content, "Content", true, maxActivityNoteLength); err != nil {
		return err
	}
	if err := CheckText("Content", n.Content); err != nil {
		return err
	}
	if ch.IsPinned != nil {
		n.IsPinned = *ch.IsPinned
	}
	return nil
}

// createNotes adds the notes of an activity being created, in its transaction (a deep insert:
// one bad note refuses the whole create). Their ActivityID is the new activity's; an ImportId
// they name must be new.
func (s *Store) createNotes(tx *gorm.DB, a *Activity, notes []NoteChanges, actor Actor) error {
	for i, ch := range notes {
		if ch.ActivityID != nil && *ch.ActivityID != a.ID {
			return FieldError("Notes", "Note %d belongs to the activity being created; leave its Activity out.", i+1)
		}
		n := &Note{ActivityID: a.ID, CreatedBy: actor.EmployeeID}
		n.stamp(TypeNote, a.CreationDate)
		n.SortIndex = float64(i + 1)
		if ch.ImportID != nil {
			if v := strings.TrimSpace(*ch.ImportID); v != "" {
				n.ImportID = &v
			}
		}
		if err := applyNote(n, ch, true); err != nil {
			var de *Error
			if errors.As(err, &de) { // named as the protocol names the members of a deep insert
				de.Field, de.Message = "Notes["+strconv.Itoa(i)+"]/"+de.Field, "Note "+strconv.Itoa(i+1)+": "+de.Message
			}
			return err
		}
		if err := tx.Create(n).Error; err != nil {
			return mapDBError(err, "Notes["+strconv.Itoa(i)+"]/ImportId")
		}
		if err := s.emit(tx, recordChange(TypeNote, n.ID, ChangeCreated, actor, a.CreationDate)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteNote removes a note, if actor may edit its activity and MayChangeNote.
func (s *Store) DeleteNote(ctx context.Context, id uuid.UUID, actor Actor) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		var n Note
		if err := tx.Where("id = ?", id).Take(&n).Error; err != nil {
			return notFound(err, "note")
		}
		if err := s.lockLineOwner(tx, n.ActivityID, actor); err != nil {
			return err
		}
		if !MayChangeNote(actor, &n) {
			return errNotYourNote
		}
		if err := tx.Where("id = ?", id).Delete(&Note{}).Error; err != nil {
			return err
		}
		return s.emit(tx, recordChange(TypeNote, id, ChangeDeleted, actor, s.now()))
	})
}

// NoteView is a note as the edit panel shows it: with its author's name.
type NoteView struct {
	Note
	Author string
}

// Notes lists an activity's notes, pinned first, then oldest first, with their authors, if the
// ctx's actor may read the activity.
func (s *Store) Notes(ctx context.Context, activityID uuid.UUID) ([]NoteView, error) {
	var rows []struct {
		Note
		FirstName *string
		LastName  *string
	}
	q := s.db(ctx).Table("notes AS n").Select("n.*, ap.first_name, ap.last_name").
		Joins("JOIN activities a ON a.id = n.activity_id").
		Joins("LEFT JOIN employees ae ON ae.id = n.created_by LEFT JOIN relations ap ON ap.id = ae.person_id").
		Where("n.activity_id = ?", activityID)
	if cond, args := s.readScope(ctx).Where("a.sales_representative_id"); cond != "" {
		q = q.Where(cond, args...)
	}
	if err := q.Order("n.is_pinned DESC, n.creation_date, n.sort_index, n.id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]NoteView, len(rows))
	for i, r := range rows {
		out[i] = NoteView{Note: r.Note, Author: joinName(deref(r.FirstName), deref(r.LastName))}
	}
	return out, nil
}
