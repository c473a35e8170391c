package models

import (
	"context"
	"net/url"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// SavedView is a user's named filter of a board ("My deals closing this quarter"): the page's
// URL query, so that opening it is opening that URL.
type SavedView struct {
	ID           uuid.UUID `gorm:"primaryKey;type:uuid"`
	UserID       uuid.UUID `gorm:"type:uuid"`
	Page         string    // SavedViewBoard or SavedViewForecastBoard
	Name         string
	Query        string
	CreationDate time.Time
}

func (SavedView) TableName() string { return "saved_views" }

// The pages a view can be saved of.
const (
	SavedViewBoard         = "board"
	SavedViewForecastBoard = "forecast-board"
)

// maxSavedViews caps one user's views of one page; maxViewQuery a view's query.
const (
	maxSavedViews = 50
	maxViewQuery  = 2000
)

// SavedViews lists a user's views of a page by name.
func (s *Store) SavedViews(ctx context.Context, userID uuid.UUID, page string) ([]SavedView, error) {
	var out []SavedView
	err := s.db(ctx).Where("user_id = ? AND page = ?", userID, page).Order("name").Find(&out).Error
	return out, err
}

// SaveView saves the query of a page under a name for the user; saving a name again replaces
// that view's query. The query must be a well-formed URL query; the page checks its values
// when the view is opened, as it does for any URL.
func (s *Store) SaveView(ctx context.Context, userID uuid.UUID, page, name, query string) (*SavedView, error) {
	if page != SavedViewBoard && page != SavedViewForecastBoard {
		return nil, FieldError("page", "Views are saved of the board or the forecast board.")
	}
	name, err := cleanName("Name", name)
	if err != nil {
		return nil, err
	}
	if len(query) > maxViewQuery {
		return nil, FieldError("query", "The view's filter is too long to save.")
	}
	if _, err := url.ParseQuery(query); err != nil {
		return nil, FieldError("query", "The view's filter is malformed.")
	}
	var out *SavedView
	err = s.transact(ctx, func(tx *gorm.DB) error {
		var existing []SavedView
		if err := tx.Where("user_id = ? AND page = ?", userID, page).Find(&existing).Error; err != nil {
			return err
		}
		for i := range existing {
			if existing[i].Name == name {
				existing[i].Query = query
				out = &existing[i]
				return tx.Model(&SavedView{}).Where("id = ?", existing[i].ID).Update("query", query).Error
			}
		}
		if len(existing) >= maxSavedViews {
			return FieldError("Name", "You have %d saved views already; delete one first.", maxSavedViews)
		}
		out = &SavedView{ID: uuid.New(), UserID: userID, Page: page, Name: name, Query: query, CreationDate: s.now()}
		return mapDBError(tx.Create(out).Error, "Name")
	})
	return out, err
}

// DeleteView deletes one of the user's views (another user's is not found).
func (s *Store) DeleteView(ctx context.Context, userID, id uuid.UUID) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND user_id = ?", id, userID).Delete(&SavedView{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That saved view does not exist.")
		}
		return nil
	})
}
