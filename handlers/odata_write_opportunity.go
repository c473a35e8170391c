package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// opportunityWriter writes Activity_SalesOpportunity through Store.CreateOpportunity and
// UpdateOpportunity: a Phase change is exactly a board move (probability, closed flags, lost
// reason, history, place in the column).
type opportunityWriter struct {
	store  *models.Store
	schema *bodySchema
}

func newOpportunityWriter(store *models.Store) *opportunityWriter {
	return &opportunityWriter{store: store, schema: newBodySchema(schemaSpec{
		set:     odataSetOpportunity,
		changes: models.OpportunityChanges{},
		// ForecastCategory is not in the read model (yet): not writable either.
		exclude: []string{"AfterID", "BeforeID", "ExpectedVersion", "ForecastCategory"},
		links: map[string][]string{
			"Relationship":        {odataSetRelationship},
			"Contact":             {odataSetContact},
			"Source":              {odataSetSource},
			"SalesRepresentative": {odataSetEmployee},
			"PriceList":           {odataSetPriceList},
			"LostReason":          {odataSetLostReason},
			"LostToCompetitor":    {odataSetCompetitor},
			"Pipeline":            {odataSetPipeline},
			"Phase":               {odataSetName(models.PhaseType("SalesOpportunity")), odataSetPhase},
		},
		required: []string{"Phase", "Pipeline"},
		readOnly: []string{"Number", "WeightedAmount", "IsActive", "NumberOfProductLines", "NumberOfOpenTasks",
			"NumberOfPlannedActions", "TotalSalesExcludingVAT"},
		refused: map[string]string{
			"ProductLines":      "Product lines are written through the ProductLine set, with an Activity link.",
			"Involved":          "Involved parties cannot be written through the API yet.",
			"LinkedActivities":  "Linked activities cannot be written through the API yet.",
			"TimeRegistrations": "Time registrations cannot be written through the API yet.",
			"Activity":          "The parent activity cannot be written through the API yet.",
		},
	})}
}

func (w *opportunityWriter) decode(body []byte) (models.OpportunityChanges, *decodedBody, error) {
	var ch models.OpportunityChanges
	d, err := w.schema.decode(body, &ch)
	return ch, d, err
}

func (w *opportunityWriter) Create(r *http.Request, body []byte) (string, error) {
	key, _, err := w.Upsert(r, body)
	return key, err
}

// Upsert creates, or updates the opportunity the body names by ID or by ImportId.
func (w *opportunityWriter) Upsert(r *http.Request, body []byte) (string, bool, error) {
	ch, d, err := w.decode(body)
	if err != nil {
		return "", false, err
	}
	pre, err := odata.IfMatch(r)
	if err != nil {
		return "", false, err
	}
	var refuse error
	if pre.Present && !pre.Any {
		refuse = odata.PreconditionFailed("If-Match names a version, but there is no such opportunity yet.")
	}
	return upsert(r.Context(), w.store, odataSetOpportunity, d, ch.ImportID, func() any { return &models.Activity{} }, refuse,
		func() (uuid.UUID, error) {
			a, err := w.store.CreateOpportunity(r.Context(), ch, requestActor(r))
			if err != nil {
				return uuid.Nil, err
			}
			return a.ID, nil
		},
		func(id uuid.UUID) error { return w.update(r, id, ch, pre) })
}

// Update is PATCH and PUT: both change only the fields sent.
func (w *opportunityWriter) Update(r *http.Request, key string, body []byte, replace bool) error {
	id, err := uuid.Parse(key)
	if err != nil {
		return err
	}
	ch, d, err := w.decode(body)
	if err != nil {
		return err
	}
	if d.id != nil && *d.id != id {
		return fieldError("ID", "The ID in the body (%s) differs from the key in the URL (%s).", d.id, key)
	}
	pre, err := odata.IfMatch(r)
	if err != nil {
		return err
	}
	return w.update(r, id, ch, pre)
}

func (w *opportunityWriter) update(r *http.Request, id uuid.UUID, ch models.OpportunityChanges, pre odata.Precondition) error {
	v, err := expectedVersion(pre, w.currentVersion(r.Context(), id))
	if err != nil {
		return err
	}
	ch.ExpectedVersion = v
	_, err = w.store.UpdateOpportunity(r.Context(), id, ch, requestActor(r))
	if v != nil && errors.Is(err, models.ErrVersionConflict) {
		return staleIfMatch()
	}
	return odataError(err)
}

func (w *opportunityWriter) Delete(r *http.Request, key string) error {
	id, err := uuid.Parse(key)
	if err != nil {
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
	err = w.store.DeleteOpportunityVersion(r.Context(), id, v, requestActor(r))
	if v != nil && errors.Is(err, models.ErrVersionConflict) {
		return staleIfMatch()
	}
	return odataError(err)
}

func (w *opportunityWriter) currentVersion(ctx context.Context, id uuid.UUID) func() (int, error) {
	return func() (int, error) {
		a, err := w.store.Opportunity(ctx, id)
		if err != nil {
			return 0, odataError(err)
		}
		return a.Version, nil
	}
}
