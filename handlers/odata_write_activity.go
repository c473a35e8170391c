package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// activityWriter writes the set of one activity kind (Activity_Invoice …) through the Store's
// CreateActivity, UpdateActivity and DeleteActivity: a Phase change is exactly a board move
// (closing, the kind's rules, history, place in the column).
type activityWriter struct {
	store *models.Store
	kind  *models.Kind
	set   string
}

func (w *activityWriter) NewChanges() any { return &models.ActivityChanges{} }

// Create creates, or updates the activity the body names by ID or by ImportId.
func (w *activityWriter) Create(r *http.Request, changes any, body *odata.Body) (string, bool, error) {
	ch := changes.(*models.ActivityChanges)
	pre, err := odata.IfMatch(r)
	if err != nil {
		return "", false, err
	}
	var refuse error
	if pre.Present && !pre.Any {
		refuse = odata.PreconditionFailed("If-Match names a version, but there is no such %s yet.", w.kind.Noun)
	}
	return upsert(r.Context(), w.store, w.set, w.kind.Type, body, ch.ImportID, func() any { return &models.Activity{} }, refuse,
		func() (uuid.UUID, error) {
			a, err := w.store.CreateActivity(r.Context(), w.kind, *ch, requestActor(r))
			if err != nil {
				return uuid.Nil, err
			}
			return a.ID, nil
		},
		func(id uuid.UUID) error { return w.update(r, id, *ch, pre) })
}

// Update is PATCH and PUT: both change only the fields sent.
func (w *activityWriter) Update(r *http.Request, key string, changes any, body *odata.Body) error {
	pre, err := odata.IfMatch(r)
	if err != nil {
		return err
	}
	return w.update(r, uuid.MustParse(key), *changes.(*models.ActivityChanges), pre)
}

func (w *activityWriter) update(r *http.Request, id uuid.UUID, ch models.ActivityChanges, pre odata.Precondition) error {
	if err := w.mine(r.Context(), id); err != nil {
		return err
	}
	v, err := expectedVersion(pre, w.currentVersion(r.Context(), id))
	if err != nil {
		return err
	}
	ch.ExpectedVersion = v
	_, err = w.store.UpdateActivity(r.Context(), id, ch, requestActor(r))
	if v != nil && errors.Is(err, models.ErrVersionConflict) {
		return staleIfMatch()
	}
	return web.ODataError(err)
}

func (w *activityWriter) Delete(r *http.Request, key string) error {
	id := uuid.MustParse(key)
	if err := w.mine(r.Context(), id); err != nil {
		return err
	}
	pre, err := odata.IfMatch(r)
	if err != nil {
		return err
	}
	v, err := expectedVersion(pre, w.currentVersion(r.Context(), id))
	if err != nil {
		return err
	}
	err = w.store.DeleteActivity(r.Context(), id, v, requestActor(r))
	if v != nil && errors.Is(err, models.ErrVersionConflict) {
		return staleIfMatch()
	}
	return web.ODataError(err)
}

// mine refuses a key that is not an activity of this set's kind (an invoice's ID sent to
// Activity_SalesOpportunity is not found there).
func (w *activityWriter) mine(ctx context.Context, id uuid.UUID) error {
	ok, err := w.store.Exists(ctx, &models.Activity{}, w.kind.Type, id)
	if err != nil {
		return err
	}
	if !ok {
		return &odata.Error{Status: http.StatusNotFound, Code: "NotFound", Message: w.set + "(" + id.String() + ") does not exist."}
	}
	return nil
}

func (w *activityWriter) currentVersion(ctx context.Context, id uuid.UUID) func() (int, error) {
	return func() (int, error) {
		a, err := w.store.Activity(ctx, id)
		if err != nil {
			return 0, web.ODataError(err)
		}
		return a.Version, nil
	}
}
