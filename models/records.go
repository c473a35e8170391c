package models

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Writes of the simple records beside activities (customers, contacts, sources, lost reasons,
// product lines, and the admin's pipelines and phases), for the API. As everywhere in the Store,
// each call is one transaction and the rules live here; nil fields of a changes struct are left
// as they are. ImportID "" clears it.

// RelationshipChanges creates or changes a customer.
type RelationshipChanges struct {
	Name     *string
	City     *string
	IsActive *bool
	ImportID *string
	Custom   CustomValues // the values of Relationship's custom fields (every subtype has them)
}

// ContactChanges creates or changes a contact person; a pointer to uuid.Nil clears the link.
type ContactChanges struct {
	FirstName      *string
	LastName       *string
	Email          *string
	RelationshipID *uuid.UUID
	PersonID       *uuid.UUID // Tribe's Person link: an existing person becomes the contact
	RelationID     *uuid.UUID // Tribe's Relation link: the organisation (its customer or lead becomes the Relationship)
	IsActive       *bool
	ImportID       *string
	Custom         CustomValues // the values of the contact's custom fields
}

// NamedChanges creates or changes a source or a lost reason.
type NamedChanges struct {
	Name     *string
	Code     *string
	IsActive *bool
	ImportID *string
}

// ProductLineChanges creates or changes a line of an opportunity. Amount is computed: Quantity
// × Price. The opportunity's NumberOfProductLines and TotalSalesExcludingVAT follow its lines.
type ProductLineChanges struct {
	ActivityID  *uuid.UUID // only on create: a line does not move between opportunities
	ProductID   *uuid.UUID // the catalogue's product (uuid.Nil clears it); its price and name are the line's defaults
	Description *string
	Quantity    *float64
	Price       *float64
	ImportID    *string
}

// record is a model with the standard fields (all of them: Standard is embedded).
type record interface{ standard() *Standard }

func (s *Standard) standard() *Standard { return s }

// canWriteRecords: any user or client role may keep customers, contacts and sources.
func canWriteRecords(a Actor) error {
	if a.IsSystem() || ValidRole(a.Role) {
		return nil
	}
	return Errorf(EForbidden, "You may not change records.")
}

// saveRecord creates rec (id nil) or loads, changes and saves the record with id, in one
// transaction. apply validates and applies the changes to rec; after, when not nil, runs in the
// same transaction once rec is saved.
func (s *Store) saveRecord(ctx context.Context, rec record, id *uuid.UUID, typ, what string, importID *string, active *bool, actor Actor, apply func(tx *gorm.DB, creating bool) error, after func(tx *gorm.DB) error) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		now := s.now()
		std := rec.standard()
		creating := id == nil
		if creating {
			*std = Standard{}
			std.stamp(typ, now)
		} else {
			if err := s.forUpdate(tx).Where("id = ?", *id).Take(rec).Error; err != nil {
				return notFound(err, what)
			}
			std.LastMutationDate = now
		}
		if importID != nil {
			std.ImportID = nil
			if v := strings.TrimSpace(*importID); v != "" {
				std.ImportID = &v
			}
		}
		if active != nil {
			std.IsActive = *active
		}
		if err := apply(tx, creating); err != nil {
			return err
		}
		var err error
		op := ChangeUpdated
		if creating {
			op = ChangeCreated
			if std.SortIndex == 0 {
				if std.SortIndex, err = maxSortIndex(tx.Model(rec)); err != nil {
					return err
				}
				std.SortIndex++
			}
			err = tx.Create(rec).Error
		} else {
			err = tx.Select("*").Omit("id", "creation_date", "type").Save(rec).Error
		}
		if err != nil {
			return mapDBError(err, "ImportId")
		}
		if err := s.emit(tx, recordChange(std.Type, std.ID, op, actor, now)); err != nil {
			return err
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
}

// DeleteRecord removes the record of model's table with id; a record still referred to (a
// customer with opportunities) is an EConflict.
func (s *Store) DeleteRecord(ctx context.Context, model any, id uuid.UUID, what string, actor Actor) error {
	return s.DeleteRecordOf(ctx, model, nil, id, what, actor)
}

// DeleteRecordOf is DeleteRecord for a table of several types: only a record of one of types
// (all when nil) is found. The tenant's identity is never deleted.
func (s *Store) DeleteRecordOf(ctx context.Context, model any, types []string, id uuid.UUID, what string, actor Actor) error {
	if err := canWriteRecords(actor); err != nil {
		return err
	}
	if _, ok := model.(*LostReason); ok {
		if err := mustAdminister(actor); err != nil {
			return err
		}
	}
	if _, ok := model.(*Product); ok {
		if err := mustKeepCatalogue(actor); err != nil {
			return err
		}
	}
	return s.transact(ctx, func(tx *gorm.DB) error {
		var found []string
		if err := tx.Model(model).Where("id = ?", id).Limit(1).Pluck("type", &found).Error; err != nil {
			return err
		}
		if len(found) == 0 || (types != nil && !slices.Contains(types, found[0])) {
			return Errorf(ENotFound, "That %s does not exist.", what)
		}
		if found[0] == TypeIdentity || id == IdentityOrganizationID {
			return Errorf(EConflict, "The tenant's own organisation is renamed, not deleted.")
		}
		res := tx.Where("id = ?", id).Delete(model)
		if isForeignKeyViolation(res.Error) {
			return Errorf(EConflict, "This %s is still in use; archive it (IsActive false) instead.", what)
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That %s does not exist.", what)
		}
		if err := deleteCustomValues(tx, id); err != nil {
			return err
		}
		return s.emit(tx, recordChange(found[0], id, ChangeDeleted, actor, s.now()))
	})
}

func isForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" {
		return true
	}
	var lite *sqlite.Error
	return errors.As(err, &lite) && lite.Code() == 787 // SQLITE_CONSTRAINT_FOREIGNKEY
}

func setText(dst *string, in *string, field string, required bool, max int) error {
	if in == nil {
		return nil
	}
	v := strings.TrimSpace(*in)
	switch {
	case required && v == "":
		return FieldError(field, "%s is required.", field)
	case len([]rune(v)) > max:
		return FieldError(field, "%s is longer than %d characters.", field, max)
	}
	*dst = v
	return nil
}

// SaveRelationship creates (id nil) or changes a customer: SaveCommercialRelationship of a
// TypeCustomer (what the seeds' Relationship set writes).
func (s *Store) SaveRelationship(ctx context.Context, id *uuid.UUID, ch RelationshipChanges, actor Actor) (uuid.UUID, error) {
	return s.SaveCommercialRelationship(ctx, TypeCustomer, id, ch, actor)
}

// SaveCommercialRelationship creates (id nil) a customer or lead (typ) with its organisation, or
// changes one, in one transaction; the Name is the organisation's. A change through typ's own
// set finds only relationships of typ; typ "" changes any (the seeds' Relationship set), but
// never the tenant's identity (its organisation is written as Relation_Organization).
func (s *Store) SaveCommercialRelationship(ctx context.Context, typ string, id *uuid.UUID, ch RelationshipChanges, actor Actor) (uuid.UUID, error) {
	if err := canWriteRecords(actor); err != nil {
		return uuid.Nil, err
	}
	create := typ
	if create == "" {
		create = TypeCustomer
	}
	r := &Relationship{}
	err := s.saveRecord(ctx, r, id, create, "customer", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		if !creating && ((typ != "" && r.Type != typ) || r.Type == TypeIdentity) {
			return Errorf(ENotFound, "That customer does not exist.")
		}
		if creating && ch.Name == nil {
			return FieldError("Name", "Name is required.")
		}
		org, err := s.organizationOf(tx, r.OrganizationID)
		if err != nil {
			return err
		}
		if err := setText(&org.Name, ch.Name, "Name", true, maxNameLength); err != nil {
			return err
		}
		if err := setText(&r.City, ch.City, "City", false, maxNameLength); err != nil {
			return err
		}
		oid, err := saveRelationOf(tx, org, TypeOrganization, s.now())
		r.OrganizationID, r.Name = &oid, org.Name
		return err
	}, s.customValuesWriter(ctx, TypeRelationship, &r.Standard, ch.Custom))
	return r.ID, err
}

// SaveContact creates (id nil) or changes a contact person: the person (created with the
// contact) and the link to a customer, whose organisation becomes the contact's Relation.
func (s *Store) SaveContact(ctx context.Context, id *uuid.UUID, ch ContactChanges, actor Actor) (uuid.UUID, error) {
	if err := canWriteRecords(actor); err != nil {
		return uuid.Nil, err
	}
	c := &Contact{}
	err := s.saveRecord(ctx, c, id, TypeContact, "contact", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		if ch.PersonID != nil {
			if err := mustBeRelation(tx, *ch.PersonID, TypePerson, "Person"); err != nil {
				return err
			}
			c.PersonID = ch.PersonID
		}
		p, err := s.personOf(tx, c.PersonID)
		if err != nil {
			return err
		}
		if err := applyPerson(p, RelationChanges{FirstName: ch.FirstName, LastName: ch.LastName, EmailAddress: ch.Email}); err != nil {
			var de *Error
			if errors.As(err, &de) && de.Field == "EmailAddress" {
				de.Field = "Email" // the seeds' name of the field on this set
			}
			return err
		}
		if ch.RelationshipID != nil {
			c.RelationshipID, c.RelationID = nil, nil
			if *ch.RelationshipID != uuid.Nil {
				var r Relationship
				if err := tx.Where("id = ?", *ch.RelationshipID).Take(&r).Error; err != nil {
					return FieldError("Relationship", "The chosen Relationship does not exist.")
				}
				v := *ch.RelationshipID
				c.RelationshipID, c.RelationID = &v, r.OrganizationID
			}
		}
		if ch.RelationID != nil {
			c.RelationshipID, c.RelationID = nil, nil
			if *ch.RelationID != uuid.Nil {
				if err := mustBeRelation(tx, *ch.RelationID, TypeOrganization, "Relation"); err != nil {
					return err
				}
				var ids []uuid.UUID
				if err := tx.Model(&Relationship{}).Where("organization_id = ? AND type IN ?", *ch.RelationID, []string{TypeCustomer, TypeLead}).
					Order("creation_date, id").Limit(1).Pluck("id", &ids).Error; err != nil {
					return err
				}
				v := *ch.RelationID
				c.RelationID = &v
				if len(ids) > 0 {
					c.RelationshipID = &ids[0]
				}
			}
		}
		pid, err := saveRelationOf(tx, p, TypePerson, s.now())
		c.PersonID = &pid
		return err
	}, s.customValuesWriter(ctx, TypeContact, &c.Standard, ch.Custom))
	return c.ID, err
}

// organizationOf loads the organisation with id for a change (locked), in tx; a new one when id
// is nil.
func (s *Store) organizationOf(tx *gorm.DB, id *uuid.UUID) (*Relation, error) {
	o := &Relation{}
	if id == nil {
		return o, nil
	}
	if err := s.forUpdate(tx).Where("id = ?", *id).Take(o).Error; err != nil {
		return nil, notFound(err, "organisation")
	}
	return o, nil
}

// SaveSource creates (id nil) or changes a lead source.
func (s *Store) SaveSource(ctx context.Context, id *uuid.UUID, ch NamedChanges, actor Actor) (uuid.UUID, error) {
	if err := canWriteRecords(actor); err != nil {
		return uuid.Nil, err
	}
	x := &Source{}
	err := s.saveRecord(ctx, x, id, TypeSource, "source", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		return applyNamed(&x.Name, &x.Code, ch, creating)
	}, nil)
	return x.ID, err
}

// SaveLostReason creates (id nil) or changes a lost reason: for admins, like the admin pages.
func (s *Store) SaveLostReason(ctx context.Context, id *uuid.UUID, ch NamedChanges, actor Actor) (uuid.UUID, error) {
	if err := mustAdminister(actor); err != nil {
		return uuid.Nil, err
	}
	x := &LostReason{}
	err := s.saveRecord(ctx, x, id, TypeLostReason, "lost reason", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		return applyNamed(&x.Name, &x.Code, ch, creating)
	}, nil)
	return x.ID, err
}

func applyNamed(name, code *string, ch NamedChanges, creating bool) error {
	if creating && ch.Name == nil {
		return FieldError("Name", "Name is required.")
	}
	if err := setText(name, ch.Name, "Name", true, maxNameLength); err != nil {
		return err
	}
	return setText(code, ch.Code, "Code", false, 50)
}

// SaveProductLine creates (id nil) or changes a product line, if actor may edit its
// opportunity, and brings the opportunity's line count and total up to date (a change of the
// opportunity: its version goes up).
func (s *Store) SaveProductLine(ctx context.Context, id *uuid.UUID, ch ProductLineChanges, actor Actor) (uuid.UUID, error) {
	l := &ProductLine{}
	err := s.saveRecord(ctx, l, id, TypeProductLine, "product line", ch.ImportID, nil, actor, func(tx *gorm.DB, creating bool) error {
		switch {
		case creating && ch.ActivityID == nil:
			return FieldError("Activity", "A product line needs its activity (Activity).")
		case creating:
			l.ActivityID = *ch.ActivityID
			l.Quantity = 1
		case ch.ActivityID != nil && *ch.ActivityID != l.ActivityID:
			return FieldError("Activity", "A product line cannot move to another activity.")
		}
		if err := s.applyLineProduct(tx, l, ch); err != nil {
			return err
		}
		if err := setText(&l.Description, ch.Description, "Description", false, maxSubjectLength); err != nil {
			return err
		}
		for _, f := range []struct {
			in    *float64
			dst   *float64
			field string
		}{{ch.Quantity, &l.Quantity, "Quantity"}, {ch.Price, &l.Price, "Price"}} {
			if f.in != nil {
				if err := checkAmount(f.field, *f.in); err != nil {
					return err
				}
				*f.dst = *f.in
			}
		}
		l.Amount = l.Quantity * l.Price
		if math.IsInf(l.Amount, 0) || l.Amount > 1e15 {
			return FieldError("Price", "Quantity × Price is too large.")
		}
		return s.lockLineOwner(tx, l.ActivityID, actor)
	}, func(tx *gorm.DB) error { return s.refreshLineTotals(tx, l.ActivityID, actor) })
	return l.ID, err
}

// DeleteProductLine removes a line and updates its opportunity's totals.
func (s *Store) DeleteProductLine(ctx context.Context, id uuid.UUID, actor Actor) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		var l ProductLine
		if err := tx.Where("id = ?", id).Take(&l).Error; err != nil {
			return notFound(err, "product line")
		}
		if err := s.lockLineOwner(tx, l.ActivityID, actor); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&ProductLine{}).Error; err != nil {
			return err
		}
		if err := s.emit(tx, recordChange(l.Type, l.ID, ChangeDeleted, actor, s.now())); err != nil {
			return err
		}
		return s.refreshLineTotals(tx, l.ActivityID, actor)
	})
}

// lockLineOwner locks a line's activity and checks that actor may edit it.
func (s *Store) lockLineOwner(tx *gorm.DB, activityID uuid.UUID, actor Actor) error {
	a, err := s.lockActivity(tx, activityID)
	if ErrorCode(err) == ENotFound {
		return FieldError("Activity", "That activity does not exist.")
	}
	if err != nil {
		return err
	}
	if !CanEditActivity(actor, a) {
		return errNotYours
	}
	return nil
}

// refreshLineTotals sets an activity's NumberOfProductLines and TotalSalesExcludingVAT from its
// lines: a change of the activity (its version goes up), reported as one.
func (s *Store) refreshLineTotals(tx *gorm.DB, activityID uuid.UUID, actor Actor) error {
	var t struct {
		N     int64
		Total float64
	}
	if err := tx.Model(&ProductLine{}).Select("COUNT(*) AS n, COALESCE(SUM(amount), 0) AS total").
		Where("activity_id = ?", activityID).Scan(&t).Error; err != nil {
		return err
	}
	var a Activity
	if err := tx.Where("id = ?", activityID).Take(&a).Error; err != nil {
		return err
	}
	before, now := a, s.now()
	a.NumberOfProductLines, a.TotalSalesExcludingVAT = float64(t.N), t.Total
	a.Version++
	a.LastMutationDate = now
	if err := tx.Model(&Activity{}).Where("id = ?", activityID).Updates(map[string]any{
		"number_of_product_lines": a.NumberOfProductLines, "total_sales_excluding_vat": a.TotalSalesExcludingVAT,
		"version": a.Version, "last_mutation_date": now,
	}).Error; err != nil {
		return err
	}
	return s.emit(tx, activityChange(ChangeUpdated, &before, &a, actor, now))
}

// PipelineChanges creates or changes a pipeline (admins). ActivityType ("Activity.Task" or
// "Task") is set on create only.
type PipelineChanges struct {
	Name         *string
	ActivityType *string
	IsActive     *bool
}

// SavePipeline creates (id nil) or changes a pipeline through the admin functions, so that their
// rules hold (the last active sales pipeline stays). The steps (rename, archive …) are one
// transaction: a refused step writes nothing of the others.
func (s *Store) SavePipeline(ctx context.Context, id *uuid.UUID, ch PipelineChanges, actor Actor) (out uuid.UUID, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		out, err = s.savePipeline(ctx, id, ch, actor)
		return err
	})
	return out, err
}

func (s *Store) savePipeline(ctx context.Context, id *uuid.UUID, ch PipelineChanges, actor Actor) (uuid.UUID, error) {
	if err := mustAdminister(actor); err != nil {
		return uuid.Nil, err
	}
	if ch.Name != nil {
		if _, err := cleanName("Name", *ch.Name); err != nil {
			return uuid.Nil, err
		}
	}
	if id == nil {
		switch {
		case ch.Name == nil:
			return uuid.Nil, FieldError("Name", "Name is required.")
		case ch.ActivityType == nil:
			return uuid.Nil, FieldError("ActivityType", "ActivityType is required, e.g. Activity.SalesOpportunity.")
		case ch.IsActive != nil && !*ch.IsActive:
			return uuid.Nil, FieldError("IsActive", "A new pipeline is active; archive it afterwards.")
		}
		p, err := s.CreatePipeline(ctx, strings.TrimPrefix(*ch.ActivityType, "Activity."), *ch.Name, actor)
		if err != nil {
			return uuid.Nil, err
		}
		return p.ID, nil
	}
	p, err := s.Pipeline(ctx, *id)
	if err != nil {
		return uuid.Nil, err
	}
	if ch.ActivityType != nil && ActivityType(strings.TrimPrefix(*ch.ActivityType, "Activity.")) != p.ActivityType {
		return uuid.Nil, FieldError("ActivityType", "A pipeline keeps its activity type.")
	}
	if ch.IsActive != nil && *ch.IsActive != p.IsActive {
		if err := s.SetPipelineActive(ctx, *id, *ch.IsActive, actor); err != nil {
			return uuid.Nil, err
		}
	}
	if ch.Name != nil {
		if err := s.RenamePipeline(ctx, *id, *ch.Name, actor); err != nil {
			return uuid.Nil, err
		}
	}
	return *id, nil
}

// PhaseChanges creates or changes a phase (admins). PipelineID is set on create only.
type PhaseChanges struct {
	PipelineID         *uuid.UUID
	Name               *string
	DefaultProbability *float64
	IsTerminal         *bool
	IsWon              *bool
	IsActive           *bool
}

// SavePhase creates (id nil) or changes a phase of type phaseType ("" for any) through the admin
// functions, in one transaction: a refused step writes nothing of the others. Archiving
// (IsActive false) a phase that still holds activities is refused: move them first (the admin
// page asks where to).
func (s *Store) SavePhase(ctx context.Context, id *uuid.UUID, phaseType string, ch PhaseChanges, actor Actor) (out uuid.UUID, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		out, err = s.savePhase(ctx, id, phaseType, ch, actor)
		return err
	})
	return out, err
}

func (s *Store) savePhase(ctx context.Context, id *uuid.UUID, phaseType string, ch PhaseChanges, actor Actor) (uuid.UUID, error) {
	if err := mustAdminister(actor); err != nil {
		return uuid.Nil, err
	}
	in := PhaseInput{}
	var cur *Phase
	if id != nil {
		p, err := s.Phase(ctx, *id)
		if err != nil || (phaseType != "" && p.Type != phaseType) {
			return uuid.Nil, Errorf(ENotFound, "That phase does not exist.")
		}
		if ch.PipelineID != nil && *ch.PipelineID != p.PipelineID {
			return uuid.Nil, FieldError("Pipeline", "A phase stays in its pipeline.")
		}
		cur = p
		in = PhaseInput{Name: p.Name, DefaultProbability: p.DefaultProbability, IsTerminal: p.IsTerminal, IsWon: p.IsWon}
	}
	if ch.Name != nil {
		in.Name = *ch.Name
	}
	if ch.DefaultProbability != nil {
		in.DefaultProbability = *ch.DefaultProbability
	}
	if ch.IsTerminal != nil {
		in.IsTerminal = *ch.IsTerminal
	}
	if ch.IsWon != nil {
		in.IsWon = *ch.IsWon
	}
	check := in
	if err := check.normalise(); err != nil {
		return uuid.Nil, err
	}
	if cur == nil {
		if ch.PipelineID == nil {
			return uuid.Nil, FieldError("Pipeline", "A phase needs its pipeline.")
		}
		if ch.IsActive != nil && !*ch.IsActive {
			return uuid.Nil, FieldError("IsActive", "A new phase is active; archive it afterwards.")
		}
		p, err := s.Pipeline(ctx, *ch.PipelineID)
		if err != nil {
			return uuid.Nil, FieldError("Pipeline", "That pipeline does not exist.")
		}
		if phaseType != "" && PhaseType(strings.TrimPrefix(p.ActivityType, "Activity.")) != phaseType {
			return uuid.Nil, FieldError("Pipeline", "That pipeline is for %s, not for these phases.", p.ActivityType)
		}
		ph, err := s.CreatePhase(ctx, p.ID, in, actor)
		if err != nil {
			return uuid.Nil, err
		}
		return ph.ID, nil
	}
	if ch.Name != nil || ch.DefaultProbability != nil || ch.IsTerminal != nil || ch.IsWon != nil {
		if err := s.UpdatePhase(ctx, cur.ID, in, actor); err != nil {
			return uuid.Nil, err
		}
	}
	if ch.IsActive != nil && *ch.IsActive != cur.IsActive {
		var err error
		if *ch.IsActive {
			err = s.RestorePhase(ctx, cur.ID, actor)
		} else {
			_, err = s.RetirePhase(ctx, cur.ID, nil, false, actor)
		}
		if err != nil {
			return uuid.Nil, err
		}
	}
	return cur.ID, nil
}

// DeletePhase deletes an empty phase (archived instead when the move history refers to it); a
// phase that still holds activities is an EConflict: move them first.
func (s *Store) DeletePhase(ctx context.Context, id uuid.UUID, phaseType string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	p, err := s.Phase(ctx, id)
	if err != nil || (phaseType != "" && p.Type != phaseType) {
		return Errorf(ENotFound, "That phase does not exist.")
	}
	_, err = s.RetirePhase(ctx, id, nil, true, actor)
	var de *Error
	if errors.As(err, &de) && de.Field == "Target" {
		return &Error{Code: EConflict, Message: de.Message}
	}
	return err
}

// applyLineProduct links a line to the product ch names (or unlinks it): a newly linked product
// gives the line its sales price and name unless the change sets them. The line keeps what it
// was given: a later change of the catalogue leaves agreed lines (and their totals) alone.
func (s *Store) applyLineProduct(tx *gorm.DB, l *ProductLine, ch ProductLineChanges) error {
	if ch.ProductID == nil {
		return nil
	}
	if *ch.ProductID == uuid.Nil {
		l.ProductID = nil
		return nil
	}
	var p Product
	if err := tx.Where("id = ?", *ch.ProductID).Take(&p).Error; err != nil {
		return FieldError("Product", "The chosen Product does not exist.")
	}
	if l.ProductID == nil || *l.ProductID != p.ID {
		if ch.Price == nil {
			l.Price = p.SalesPrice
		}
		if ch.Description == nil {
			l.Description = p.Name
		}
	}
	l.ProductID = &p.ID
	return nil
}

// ProductChanges creates or changes a product of the catalogue.
type ProductChanges struct {
	Name          *string
	Code          *string
	Description   *string
	SalesPrice    *float64
	PurchasePrice *float64
	IsVatIncluded *bool
	IsActive      *bool
	ImportID      *string
	Custom        CustomValues // the values of the product's custom fields
}

// SaveProduct creates (id nil) or changes a product: managers and admins keep the catalogue.
func (s *Store) SaveProduct(ctx context.Context, id *uuid.UUID, ch ProductChanges, actor Actor) (uuid.UUID, error) {
	if err := mustKeepCatalogue(actor); err != nil {
		return uuid.Nil, err
	}
	p := &Product{}
	err := s.saveRecord(ctx, p, id, TypeProduct, "product", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		if creating && ch.Name == nil {
			return FieldError("Name", "Name is required.")
		}
		for _, f := range []struct {
			dst   *string
			in    *string
			field string
			req   bool
			max   int
		}{{&p.Name, ch.Name, "Name", true, maxNameLength}, {&p.Code, ch.Code, "Code", false, 50}, {&p.Description, ch.Description, "Description", false, maxSubjectLength}} {
			if err := setText(f.dst, f.in, f.field, f.req, f.max); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			in    *float64
			dst   *float64
			field string
		}{{ch.SalesPrice, &p.SalesPrice, "SalesPrice"}, {ch.PurchasePrice, &p.PurchasePrice, "PurchasePrice"}} {
			if f.in != nil {
				if err := checkAmount(f.field, *f.in); err != nil {
					return err
				}
				*f.dst = *f.in
			}
		}
		if ch.IsVatIncluded != nil {
			p.IsVatIncluded = *ch.IsVatIncluded
		}
		return nil
	}, s.customValuesWriter(ctx, TypeProduct, &p.Standard, ch.Custom))
	return p.ID, err
}
