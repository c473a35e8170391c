package handlers

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// recordWriters are the writers of the sets beside opportunities: customers, contacts and
// sources (any role), lost reasons, pipelines and phases (admins only: the Store refuses others
// with EForbidden, 403), and product lines (whoever may edit the line's opportunity).
func (h *Handler) recordWriters() map[string]odata.Writer {
	s := h.Store
	named := func(set string) *bodySchema {
		return newBodySchema(schemaSpec{set: set, changes: models.NamedChanges{}})
	}
	out := map[string]odata.Writer{
		odataSetRelationship: &recordWriter[models.RelationshipChanges]{
			schema: newBodySchema(schemaSpec{set: odataSetRelationship, changes: models.RelationshipChanges{},
				refused: map[string]string{"Contacts": "Contacts are written through their own set, with a Relationship link."}}),
			store: s,
			model: func() any { return &models.Relationship{} },
			save:  s.SaveRelationship,
			del:   deleteRecord(s, &models.Relationship{}, "customer"),
		},
		odataSetContact: &recordWriter[models.ContactChanges]{
			schema: newBodySchema(schemaSpec{set: odataSetContact, changes: models.ContactChanges{},
				links: map[string][]string{"Relationship": {odataSetRelationship}}}),
			store: s,
			model: func() any { return &models.Contact{} },
			save:  s.SaveContact,
			del:   deleteRecord(s, &models.Contact{}, "contact"),
		},
		odataSetSource: &recordWriter[models.NamedChanges]{
			schema: named(odataSetSource),
			store:  s,
			model:  func() any { return &models.Source{} },
			save:   s.SaveSource,
			del:    deleteRecord(s, &models.Source{}, "source"),
		},
		odataSetLostReason: &recordWriter[models.NamedChanges]{
			schema: named(odataSetLostReason),
			store:  s,
			model:  func() any { return &models.LostReason{} },
			save:   s.SaveLostReason,
			del:    deleteRecord(s, &models.LostReason{}, "lost reason"),
		},
		odataSetProductLine: &recordWriter[models.ProductLineChanges]{
			schema: newBodySchema(schemaSpec{set: odataSetProductLine, changes: models.ProductLineChanges{},
				links:    map[string][]string{"Activity": {odataSetOpportunity, odataSetActivity}},
				required: []string{"Activity"},
				readOnly: []string{"Amount", "IsActive"}}),
			store: s,
			model: func() any { return &models.ProductLine{} },
			save:  s.SaveProductLine,
			del:   s.DeleteProductLine,
		},
		odataSetPipeline: &recordWriter[models.PipelineChanges]{
			schema: newBodySchema(schemaSpec{set: odataSetPipeline, changes: models.PipelineChanges{},
				refused: map[string]string{"Phases": "Phases are written through the phase sets, with a Pipeline link."}}),
			store: s,
			model: func() any { return &models.Pipeline{} },
			save:  s.SavePipeline,
			del: func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
				if !models.CanAdminister(actor) {
					return models.Errorf(models.EForbidden, "Only an administrator can do this.")
				}
				return &odata.Error{Status: http.StatusConflict, Code: "Conflict",
					Message: "Pipelines are archived, not deleted: PATCH {\"IsActive\": false}."}
			},
		},
	}
	// The phases: one set per activity type, each writing only its own phases. The base set
	// Datastore_Phase stays read-only: a phase is written through its subtype's set.
	phaseSets := map[string]string{}
	for _, kind := range models.ActivityKinds {
		phaseSets[odataSetName(models.PhaseType(kind))] = models.PhaseType(kind)
	}
	notYet := "This phase field cannot be written through the API yet."
	for set, typ := range phaseSets {
		out[set] = &recordWriter[models.PhaseChanges]{
			schema: newBodySchema(schemaSpec{set: set, changes: models.PhaseChanges{},
				links:    map[string][]string{"Pipeline": {odataSetPipeline}},
				required: []string{"Pipeline"},
				refused: map[string]string{"Code": notYet, "LocalizedName": notYet, "IsDefault": notYet, "Icon": notYet,
					"ActionName": notYet, "LocalizedActionName": notYet, "IsAssignable": notYet}}),
			store: s,
			model: func() any { return &models.Phase{} },
			save: func(ctx context.Context, id *uuid.UUID, ch models.PhaseChanges, actor models.Actor) (uuid.UUID, error) {
				return s.SavePhase(ctx, id, typ, ch, actor)
			},
			del: func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
				return s.DeletePhase(ctx, id, typ, actor)
			},
		}
	}
	return out
}

func deleteRecord(s *models.Store, model any, what string) func(context.Context, uuid.UUID, models.Actor) error {
	return func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
		return s.DeleteRecord(ctx, model, id, what, actor)
	}
}

// recordWriter is the writer of a simple set: C is its models changes struct.
type recordWriter[C any] struct {
	store  *models.Store
	schema *bodySchema
	model  func() any // a new value of the table's model (existence and ImportId look-ups)
	save   func(ctx context.Context, id *uuid.UUID, ch C, actor models.Actor) (uuid.UUID, error)
	del    func(ctx context.Context, id uuid.UUID, actor models.Actor) error
}

func (w *recordWriter[C]) Create(r *http.Request, body []byte) (string, error) {
	key, _, err := w.Upsert(r, body)
	return key, err
}

func (w *recordWriter[C]) Upsert(r *http.Request, body []byte) (string, bool, error) {
	var ch C
	d, err := w.schema.decode(body, &ch)
	if err != nil {
		return "", false, err
	}
	ctx, actor := r.Context(), requestActor(r)
	return upsert(ctx, w.store, w.schema.set, d, importIDOf(&ch), w.model, nil, func() (uuid.UUID, error) {
		return w.save(ctx, nil, ch, actor)
	}, func(id uuid.UUID) error {
		_, err := w.save(ctx, &id, ch, actor)
		return err
	})
}

func (w *recordWriter[C]) Update(r *http.Request, key string, body []byte, replace bool) error {
	id, err := uuid.Parse(key)
	if err != nil {
		return err
	}
	var ch C
	d, err := w.schema.decode(body, &ch)
	if err != nil {
		return err
	}
	if d.id != nil && *d.id != id {
		return fieldError("ID", "The ID in the body (%s) differs from the key in the URL (%s).", d.id, key)
	}
	_, err = w.save(r.Context(), &id, ch, requestActor(r))
	return odataError(err)
}

func (w *recordWriter[C]) Delete(r *http.Request, key string) error {
	id, err := uuid.Parse(key)
	if err != nil {
		return err
	}
	return odataError(w.del(r.Context(), id, requestActor(r)))
}

func (w *recordWriter[C]) bodySchema() *bodySchema { return w.schema }
