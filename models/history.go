package models

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Move is one entry of an activity's move history (phase_changes): who moved it from where to
// where, and when. From is "" for its creation.
type Move struct {
	At              time.Time
	FromPhaseID     *uuid.UUID
	From, To        string
	ToIsTerminal    bool
	ToIsWon         bool
	By              string // the employee's name; "" when the system or an unlinked user moved it
	FromWasTerminal bool
}

// History returns the move history of the activity id, oldest first, if the caller may read it
// (the read rule of Activity).
func (s *Store) History(ctx context.Context, id uuid.UUID) ([]Move, error) {
	if _, err := s.Activity(ctx, id); err != nil {
		return nil, err
	}
	var rows []struct {
		MovedAt        time.Time
		FromPhaseID    *uuid.UUID
		FromName       *string
		FromIsTerminal *bool
		ToName         string
		ToIsTerminal   bool
		ToIsWon        bool
		FirstName      *string
		LastName       *string
	}
	err := s.db(ctx).Table("phase_changes pc").
		Select(`pc.moved_at, pc.from_phase_id, pf.name AS from_name, pf.is_terminal AS from_is_terminal,
			pt.name AS to_name, pt.is_terminal AS to_is_terminal, pt.is_won AS to_is_won, ep.first_name, ep.last_name`).
		Joins("JOIN phases pt ON pt.id = pc.to_phase_id").
		Joins("LEFT JOIN phases pf ON pf.id = pc.from_phase_id").
		Joins("LEFT JOIN employees e ON e.id = pc.moved_by LEFT JOIN relations ep ON ep.id = e.person_id").
		Where("pc.activity_id = ?", id).Order("pc.moved_at, pc.id").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Move, len(rows))
	for i, r := range rows {
		m := Move{At: r.MovedAt, FromPhaseID: r.FromPhaseID, To: r.ToName, ToIsTerminal: r.ToIsTerminal, ToIsWon: r.ToIsWon}
		if r.FromName != nil {
			m.From = *r.FromName
		}
		if r.FromIsTerminal != nil {
			m.FromWasTerminal = *r.FromIsTerminal
		}
		if r.FirstName != nil || r.LastName != nil {
			m.By = joinName(deref(r.FirstName), deref(r.LastName))
		}
		out[i] = m
	}
	return out, nil
}

// ReopenPhase is where reopening a closed activity takes it: the open phase it left when it
// closed (from the move history), else its pipeline's first open phase. ok is false for an
// open activity.
func ReopenPhase(history []Move, phases []Phase, current uuid.UUID) (id uuid.UUID, ok bool) {
	open := map[uuid.UUID]bool{}
	var first *Phase
	closed := false
	for i, p := range phases {
		if !p.IsTerminal {
			open[p.ID] = true
			if first == nil {
				first = &phases[i]
			}
		}
		if p.ID == current {
			closed = p.IsTerminal
		}
	}
	if !closed {
		return uuid.Nil, false
	}
	for i := len(history) - 1; i >= 0; i-- {
		if from := history[i].FromPhaseID; from != nil && open[*from] {
			return *from, true
		}
	}
	if first == nil {
		return uuid.Nil, false
	}
	return first.ID, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
