package models

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Manager adjustments: a manager's own number for a rep's commit in a period (month or
// quarter), with a note. The forecast shows the rep's number (won + open commit), the
// manager's and the difference. Overrides are never changed or removed: a new one replaces the
// last, and every one is kept as its history. Only managers and admins make and see them.

// CommitOverride is one adjustment.
type CommitOverride struct {
	Seq         int64     `gorm:"primaryKey"`
	RepID       uuid.UUID `gorm:"type:uuid"`
	PeriodStart Date
	PeriodEnd   Date
	Amount      float64 // in the reporting currency
	Note        string
	Author      string     // who made it, as the page names them (their login)
	CreatedBy   *uuid.UUID `gorm:"type:uuid"` // their employee, if any
	CreatedAt   time.Time
}

func (CommitOverride) TableName() string { return "commit_overrides" }

// maxNoteLength caps an override's note.
const maxNoteLength = 1000

// OverrideCommit records a manager's commit for rep in period, with a note (author names the
// manager: their login).
func (s *Store) OverrideCommit(ctx context.Context, rep uuid.UUID, period SalesPeriod, amount float64, note, author string, actor Actor) (*CommitOverride, error) {
	if err := mustSetTargets(actor); err != nil {
		return nil, err
	}
	if _, err := CheckPeriod("period", period.Start, period.End); err != nil {
		return nil, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	switch {
	case !utf8.ValidString(note) || strings.ContainsRune(note, 0):
		return nil, FieldError("note", "The note holds characters that are not text.")
	case utf8.RuneCountInString(note) > maxNoteLength:
		return nil, FieldError("note", "The note is longer than %d characters.", maxNoteLength)
	}
	o := &CommitOverride{RepID: rep, PeriodStart: period.Start, PeriodEnd: period.End, Amount: amount, Note: note,
		Author: author, CreatedBy: actor.EmployeeID, CreatedAt: s.now()}
	err := s.transact(ctx, func(tx *gorm.DB) error {
		if err := mustExist(tx, &Employee{}, rep, "rep"); err != nil {
			return err
		}
		return tx.Omit("seq").Create(o).Error
	})
	return o, err
}

// CommitOverrides lists every override of a period, the latest first.
func (s *Store) CommitOverrides(ctx context.Context, period SalesPeriod) ([]CommitOverride, error) {
	var out []CommitOverride
	err := s.db(ctx).Where("period_start = ? AND period_end = ?", period.Start, period.End).Order("seq DESC").Find(&out).Error
	return out, err
}
