package handlers

import (
	"cmp"
	"context"
	"net/http"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// recordWriters are the writers of the sets beside activities: customers, contacts and sources
// (any role), lost reasons, sales categories, pipelines and phases (admins only: the Store
// refuses others with EForbidden, 403), sales targets (managers and admins), and product lines
// (whoever may edit the line's activity).
func (h *Handler) recordWriters() map[string]odata.Writer {
	s := h.Store
	out := map[string]odata.Writer{
		// The seeds' Relationship creates customers and changes or deletes customers and leads.
		odataSetRelationship: &recordWriter[models.RelationshipChanges]{store: s, set: odataSetRelationship,
			model: func() any { return &models.Relationship{} }, importID: func(c *rc) *string { return c.ImportID },
			save: s.SaveRelationship, del: deleteOf(s, &models.Relationship{}, "customer", models.TypeCustomer, models.TypeLead)},
		odataSetCustomer: commercialWriter(s, odataSetCustomer, models.TypeCustomer),
		odataSetLead:     commercialWriter(s, odataSetLead, models.TypeLead),
		odataSetContact:  contactWriter(s, odataSetContact),
		// Tribe's name of the same contacts, which also links an existing Person and Relation.
		odataSetContactRelationship: contactWriter(s, odataSetContactRelationship),
		odataSetPerson: &recordWriter[models.RelationChanges]{store: s, set: odataSetPerson, typ: models.TypePerson,
			model: func() any { return &models.Relation{} }, importID: func(c *rlc) *string { return c.ImportID },
			save: s.SavePerson, del: deleteOf(s, &models.Relation{}, "person", models.TypePerson)},
		odataSetOrganization: &recordWriter[models.RelationChanges]{store: s, set: odataSetOrganization, typ: models.TypeOrganization,
			model: func() any { return &models.Relation{} }, importID: func(c *rlc) *string { return c.ImportID },
			save: s.SaveOrganization, del: deleteOf(s, &models.Relation{}, "organisation", models.TypeOrganization)},
		odataSetEmployee:             employeeWriter(s, odataSetEmployee),
		odataSetEmployeeRelationship: employeeWriter(s, odataSetEmployeeRelationship),
		odataSetSource: &recordWriter[models.NamedChanges]{store: s, set: odataSetSource,
			model: func() any { return &models.Source{} }, importID: func(c *nc) *string { return c.ImportID },
			save: s.SaveSource, del: deleteRecord(s, &models.Source{}, "source")},
		odataSetLostReason: &recordWriter[models.NamedChanges]{store: s, set: odataSetLostReason,
			model: func() any { return &models.LostReason{} }, importID: func(c *nc) *string { return c.ImportID },
			save: s.SaveLostReason, del: deleteRecord(s, &models.LostReason{}, "lost reason")},
		odataSetProductLine: &recordWriter[models.ProductLineChanges]{store: s, set: odataSetProductLine,
			model: func() any { return &models.ProductLine{} }, importID: func(c *plc) *string { return c.ImportID },
			save: s.SaveProductLine, del: s.DeleteProductLine},
		odataSetSalesTarget: &recordWriter[models.TargetChanges]{store: s, set: odataSetSalesTarget,
			model: func() any { return &models.SalesTarget{} }, importID: func(c *tc) *string { return c.ImportID },
			save: s.SaveTarget, del: s.DeleteTarget},
		odataSetNote: &recordWriter[models.NoteChanges]{store: s, set: odataSetNote,
			model: func() any { return &models.Note{} }, importID: func(c *ntc) *string { return c.ImportID },
			save: s.SaveNote, del: s.DeleteNote},
		odataSetProduct: &recordWriter[models.ProductChanges]{store: s, set: odataSetProduct,
			model: func() any { return &models.Product{} }, importID: func(c *prc) *string { return c.ImportID },
			save: s.SaveProduct, del: deleteRecord(s, &models.Product{}, "product")},
		odataSetSalesCategory: &recordWriter[models.NamedChanges]{store: s, set: odataSetSalesCategory,
			model: func() any { return &models.SalesCategory{} }, importID: func(c *nc) *string { return c.ImportID },
			save: s.SaveSalesCategory, del: s.DeleteSalesCategory},
		odataSetPipeline: &recordWriter[models.PipelineChanges]{store: s, set: odataSetPipeline,
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
	// The phases: one set per activity kind, each writing only its own phases. The base set
	// Datastore_Phase stays read-only: a phase is written through its kind's set.
	for _, k := range models.Kinds {
		typ := k.PhaseType
		set := odataSetName(typ)
		out[set] = &recordWriter[models.PhaseChanges]{store: s, set: set, typ: typ,
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

func commercialWriter(s *models.Store, set, typ string) odata.Writer {
	return &recordWriter[models.RelationshipChanges]{store: s, set: set, typ: typ,
		model: func() any { return &models.Relationship{} }, importID: func(c *rc) *string { return c.ImportID },
		save: func(ctx context.Context, id *uuid.UUID, ch models.RelationshipChanges, actor models.Actor) (uuid.UUID, error) {
			return s.SaveCommercialRelationship(ctx, typ, id, ch, actor)
		}, del: deleteOf(s, &models.Relationship{}, "customer", typ)}
}

func contactWriter(s *models.Store, set string) odata.Writer {
	return &recordWriter[models.ContactChanges]{store: s, set: set,
		model: func() any { return &models.Contact{} }, importID: func(c *cc) *string { return c.ImportID },
		save: s.SaveContact, del: deleteRecord(s, &models.Contact{}, "contact")}
}

// employeeWriter changes whether an employee is active. As in Tribe, employees are not deleted
// through the API (what they did keeps its author); nor created: they come with their users.
func employeeWriter(s *models.Store, set string) odata.Writer {
	return &recordWriter[models.EmployeeChanges]{store: s, set: set,
		model: func() any { return &models.Employee{} }, save: s.SaveEmployee,
		del: func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
			if ok, err := s.Exists(ctx, &models.Employee{}, "", id); err != nil || !ok {
				return web.ODataError(cmp.Or(err, error(models.Errorf(models.ENotFound, "That employee does not exist."))))
			}
			return &odata.Error{Status: http.StatusConflict, Code: "Conflict",
				Message: "Employees cannot be deleted through the API; deactivate one instead: PATCH {\"IsActive\": false}."}
		}}
}

// deleteOf deletes a record of a table of several types: only one of types is found.
func deleteOf(s *models.Store, model any, what string, types ...string) func(context.Context, uuid.UUID, models.Actor) error {
	return func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
		return s.DeleteRecordOf(ctx, model, types, id, what, actor)
	}
}

func deleteRecord(s *models.Store, model any, what string) func(context.Context, uuid.UUID, models.Actor) error {
	return func(ctx context.Context, id uuid.UUID, actor models.Actor) error {
		return s.DeleteRecord(ctx, model, id, what, actor)
	}
}

// recordWriter is the writer of a simple set: C is its models changes struct.
type recordWriter[C any] struct {
	store    *models.Store
	set      string
	typ      string           // the records' type in a table of several ("" otherwise)
	model    func() any       // a new value of the table's model (existence and ImportId look-ups)
	importID func(*C) *string // the changes' ImportId, for sets that take one
	save     func(ctx context.Context, id *uuid.UUID, ch C, actor models.Actor) (uuid.UUID, error)
	del      func(ctx context.Context, id uuid.UUID, actor models.Actor) error
}

func (w *recordWriter[C]) NewChanges() any { return new(C) }

func (w *recordWriter[C]) Create(r *http.Request, changes any, body *odata.Body) (string, bool, error) {
	ch := changes.(*C)
	var importID *string
	if w.importID != nil {
		importID = w.importID(ch)
	}
	ctx, actor := r.Context(), requestActor(r)
	return upsert(ctx, w.store, w.set, w.typ, body, importID, w.model, nil, func() (uuid.UUID, error) {
		return w.save(ctx, nil, *ch, actor)
	}, func(id uuid.UUID) error {
		_, err := w.save(ctx, &id, *ch, actor)
		return err
	})
}

func (w *recordWriter[C]) Update(r *http.Request, key string, changes any, body *odata.Body) error {
	id := uuid.MustParse(key)
	_, err := w.save(r.Context(), &id, *changes.(*C), requestActor(r))
	return web.ODataError(err)
}

func (w *recordWriter[C]) Delete(r *http.Request, key string) error {
	return web.ODataError(w.del(r.Context(), uuid.MustParse(key), requestActor(r)))
}
