package models

import (
	"context"
	"net/mail"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Tribe's relation model (migration 12). A Relation is a person or an organisation itself; a
// relationship is the role it plays: an employee or a contact (a person at an organisation), a
// customer, lead or competitor (an organisation), the tenant's identity. Names, email addresses
// and phone numbers live on the relation only, so one rename shows everywhere the relation
// plays a part. The relationship tables are Phaseboard's older ones (employees, contacts,
// relationships, competitors); their models read the relation's fields through a join
// (withPerson, withOrganization), never a copy.

// Discriminators of the relations and of the relationship subtypes.
const (
	TypeRelation             = "Relation"
	TypePerson               = "Relation.Person"
	TypeOrganization         = "Relation.Organization"
	TypeCustomer             = "Relationship.Organization.CommercialRelationship.Customer"
	TypeLead                 = "Relationship.Organization.CommercialRelationship.Lead"
	TypeIdentity             = "Relationship.Organization.Identity"
	TypeContactRelationship  = "Relationship.Person.Contact.Standard"
	TypeEmployeeRelationship = "Relationship.Person.Contact.Employee"
)

// The tenant's own organisation and its identity relationship: fixed keys, made by migration 12.
var (
	IdentityOrganizationID = uuid.MustParse("00000000-0000-4000-8000-00000000000a")
	IdentityRelationshipID = uuid.MustParse("00000000-0000-4000-8000-00000000000b")
)

// Relation is a person (TypePerson: the name fields) or an organisation (TypeOrganization:
// Name).
type Relation struct {
	Standard
	Name              string
	FirstName         string
	MiddleName        string
	LastName          string
	EmailAddress      string
	PhoneNumber       string
	MobilePhoneNumber string
}

func (Relation) TableName() string { return "relations" }

// withPerson selects a person relationship's rows (table: employees or contacts) with its
// person's name and email, for the read-only fields of Employee and Contact.
func withPerson(table string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.Table(table).Select(table + ".*, rp.first_name, rp.last_name, rp.email_address AS email").
			Joins("LEFT JOIN relations rp ON rp.id = " + table + ".person_id")
	}
}

// withOrganization selects an organisation relationship's rows (table: relationships or
// competitors) with its organisation's name, for the read-only Name of Relationship and
// Competitor.
func withOrganization(table string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.Table(table).Select(table + ".*, ro.name").Joins("LEFT JOIN relations ro ON ro.id = " + table + ".organization_id")
	}
}

// RelationChanges creates or changes a person (the name fields, Relation_Person, and the
// person of a contact) or an organisation (Name, Relation_Organization): one struct, since the
// two share the base type's fields (EmailAddress, PhoneNumber) in the OData model.
type RelationChanges struct {
	Name              *string
	FirstName         *string
	MiddleName        *string
	LastName          *string
	EmailAddress      *string
	PhoneNumber       *string
	MobilePhoneNumber *string
	IsActive          *bool
	ImportID          *string
	Custom            CustomValues // the values of the person's or organisation's custom fields
}

// SavePerson creates (id nil) or changes a person.
func (s *Store) SavePerson(ctx context.Context, id *uuid.UUID, ch RelationChanges, actor Actor) (uuid.UUID, error) {
	if err := canWriteRecords(actor); err != nil {
		return uuid.Nil, err
	}
	p := &Relation{}
	err := s.saveRecord(ctx, p, id, TypePerson, "person", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		if p.Type != TypePerson {
			return Errorf(ENotFound, "That person does not exist.")
		}
		return applyPerson(p, ch)
	}, s.customValuesWriter(ctx, TypePerson, &p.Standard, ch.Custom))
	return p.ID, err
}

// applyPerson validates and applies the changes of a person: a person has a first or a last
// name, and an email address that parses as one.
func applyPerson(p *Relation, ch RelationChanges) error {
	for _, f := range []struct {
		dst   *string
		in    *string
		field string
	}{{&p.FirstName, ch.FirstName, "FirstName"}, {&p.MiddleName, ch.MiddleName, "MiddleName"}, {&p.LastName, ch.LastName, "LastName"},
		{&p.EmailAddress, ch.EmailAddress, "EmailAddress"}, {&p.PhoneNumber, ch.PhoneNumber, "PhoneNumber"},
		{&p.MobilePhoneNumber, ch.MobilePhoneNumber, "MobilePhoneNumber"}} {
		if err := setText(f.dst, f.in, f.field, false, maxNameLength); err != nil {
			return err
		}
	}
	if p.FirstName == "" && p.LastName == "" {
		return FieldError("LastName", "A person needs a first or a last name.")
	}
	return checkEmail("EmailAddress", p.EmailAddress)
}

func checkEmail(field, v string) error {
	if v == "" {
		return nil
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		return FieldError(field, "%q is not an email address.", v)
	}
	return nil
}

// SaveOrganization creates (id nil) or changes an organisation.
func (s *Store) SaveOrganization(ctx context.Context, id *uuid.UUID, ch RelationChanges, actor Actor) (uuid.UUID, error) {
	if err := canWriteRecords(actor); err != nil {
		return uuid.Nil, err
	}
	o := &Relation{}
	err := s.saveRecord(ctx, o, id, TypeOrganization, "organisation", ch.ImportID, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error {
		if o.Type != TypeOrganization {
			return Errorf(ENotFound, "That organisation does not exist.")
		}
		if creating && ch.Name == nil {
			return FieldError("Name", "Name is required.")
		}
		if err := setText(&o.Name, ch.Name, "Name", true, maxNameLength); err != nil {
			return err
		}
		if err := setText(&o.PhoneNumber, ch.PhoneNumber, "PhoneNumber", false, maxNameLength); err != nil {
			return err
		}
		if err := setText(&o.EmailAddress, ch.EmailAddress, "EmailAddress", false, maxNameLength); err != nil {
			return err
		}
		return checkEmail("EmailAddress", o.EmailAddress)
	}, s.customValuesWriter(ctx, TypeOrganization, &o.Standard, ch.Custom))
	return o.ID, err
}

// newRelation inserts a relation of typ, in tx, and returns its key.
func newRelation(tx *gorm.DB, r *Relation, typ string, now time.Time) (uuid.UUID, error) {
	r.stamp(typ, now)
	return r.ID, tx.Create(r).Error
}

// personOf loads the person with id for a change (locked), in tx.
func (s *Store) personOf(tx *gorm.DB, id *uuid.UUID) (*Relation, error) {
	p := &Relation{}
	if id == nil {
		return p, nil
	}
	if err := s.forUpdate(tx).Where("id = ?", *id).Take(p).Error; err != nil {
		return nil, notFound(err, "person")
	}
	return p, nil
}

// saveRelationOf writes r, the relation of a relationship being saved (created when new), in tx.
func saveRelationOf(tx *gorm.DB, r *Relation, typ string, now time.Time) (uuid.UUID, error) {
	if r.ID == uuid.Nil {
		return newRelation(tx, r, typ, now)
	}
	r.LastMutationDate = now
	return r.ID, tx.Select("*").Omit("id", "creation_date", "type").Save(r).Error
}

// EmployeeChanges changes an employee through the API: only whether they are active. Employees
// are made with their users (admin pages) and never deleted, so that the history they made keeps
// its author; deactivating takes them out of the pickers.
type EmployeeChanges struct {
	IsActive *bool
	Custom   CustomValues // the values of the employee's custom fields
}

// SaveEmployee changes an employee (admins); creating one is not an API write.
func (s *Store) SaveEmployee(ctx context.Context, id *uuid.UUID, ch EmployeeChanges, actor Actor) (uuid.UUID, error) {
	if err := mustAdminister(actor); err != nil {
		return uuid.Nil, err
	}
	if id == nil {
		return uuid.Nil, Errorf(EInvalid, "Employees are added with their users on the admin pages (or given to an API client), not through the API.")
	}
	e := &Employee{}
	err := s.saveRecord(ctx, e, id, TypeEmployee, "employee", nil, ch.IsActive, actor, func(tx *gorm.DB, creating bool) error { return nil },
		s.customValuesWriter(ctx, TypeEmployee, &e.Standard, ch.Custom))
	return e.ID, err
}

// CreateEmployee adds an employee of the tenant's own organisation: a new person and the
// relationship, in one transaction.
func (s *Store) CreateEmployee(ctx context.Context, ch RelationChanges, importID *string, actor Actor) (*Employee, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	var e *Employee
	err := s.transact(ctx, func(tx *gorm.DB) error {
		var err error
		e, err = s.createEmployee(tx, uuid.Nil, ch, importID, actor)
		return err
	})
	return e, err
}

// createEmployee is CreateEmployee in tx; id, when not nil, is the new employee's key.
func (s *Store) createEmployee(tx *gorm.DB, id uuid.UUID, ch RelationChanges, importID *string, actor Actor) (*Employee, error) {
	now := s.now()
	p := &Relation{}
	if err := applyPerson(p, ch); err != nil {
		return nil, err
	}
	pid, err := newRelation(tx, p, TypePerson, now)
	if err != nil {
		return nil, mapDBError(err, "ImportId")
	}
	org := IdentityOrganizationID
	e := &Employee{Standard: Standard{ID: id}, PersonID: &pid, RelationID: &org, FirstName: p.FirstName, LastName: p.LastName, Email: p.EmailAddress}
	e.stamp(TypeEmployee, now)
	e.ImportID = importID
	if err := tx.Create(e).Error; err != nil {
		return nil, mapDBError(err, "ImportId")
	}
	return e, s.emit(tx, recordChange(TypeEmployee, e.ID, ChangeCreated, actor, now))
}

// Employee loads an employee with their name.
func (s *Store) Employee(ctx context.Context, id uuid.UUID) (*Employee, error) {
	var e Employee
	if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.id = ?", id).Take(&e).Error; err != nil {
		return nil, notFound(err, "employee")
	}
	return &e, nil
}

// joinCustomer and joinRep join an activity's (alias a) customer as r, with its organisation ro
// (the customer's name is ro.name), and its sales representative as e, with their person ep
// (ep.first_name, ep.last_name): the joins of the board's, the forecast's and health's reads.
const (
	joinCustomer = "LEFT JOIN relationships r ON r.id = a.relationship_id LEFT JOIN relations ro ON ro.id = r.organization_id"
	joinRep      = "LEFT JOIN employees e ON e.id = a.sales_representative_id LEFT JOIN relations ep ON ep.id = e.person_id"
)

// mustBeRelation checks that the relation with id exists and is of typ (a link's target).
func mustBeRelation(tx *gorm.DB, id uuid.UUID, typ, field string) error {
	var n int64
	if err := tx.Model(&Relation{}).Where("id = ? AND type = ?", id, typ).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return FieldError(field, "The chosen %s does not exist.", field)
	}
	return nil
}

// Contact loads a contact with their name.
func (s *Store) Contact(ctx context.Context, id uuid.UUID) (*Contact, error) {
	var c Contact
	if err := s.db(ctx).Scopes(withPerson("contacts")).Where("contacts.id = ?", id).Take(&c).Error; err != nil {
		return nil, notFound(err, "contact")
	}
	return &c, nil
}
