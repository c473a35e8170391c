package handlers

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// This file is the one description of Phaseboard's OData entity model: it drives name
// resolution, the SQL, the JSON, $metadata and the writes of /v1/odata (package web/odata).
// Names follow the seeds (../shared/seeds): a type "Datastore.Phase.ActivityInvoice" is served by
// the set "Datastore_Phase_ActivityInvoice". A property is one line: its name, EDM type, the SQL
// over the set's table (always aliased "t") and, when a client may write it, the field of the
// writer's changes struct it goes to (.Writes(to(...))); server-owned fields are .Computed(), and
// anything else is read-only. Secrets (users, sessions, API clients, tokens) are not part of
// the model.
//
// Extensions beside the seeds, marked "extension" below: a phase's DefaultProbability and IsWon,
// a pipeline's ActivityType and Phases, an activity's SalesRepresentative on every kind (its
// owner), an opportunity's ForecastCategory, a relationship's City and Contacts, and the fields
// of the entities the seeds only name as relationship targets (sources, lost reasons,
// competitors, price lists, product lines, involved parties, time registrations, employees,
// contacts).

// Set names of the model, for code that refers to them.
const (
	odataSetPhase            = "Datastore_Phase"
	odataSetActivity         = "Activity"
	odataSetPipeline         = "Pipeline"
	odataSetRelationship     = "Relationship"
	odataSetContact          = "Relation_Person_Contact"
	odataSetEmployee         = "Relation_Person_Contact_Employee"
	odataSetSource           = "Datastore_Source"
	odataSetLostReason       = "Datastore_LostReason"
	odataSetCompetitor       = "Relationship_Organization_Competitor"
	odataSetPriceList        = "PriceList"
	odataSetProductLine      = "ProductLine"
	odataSetInvolved         = "Involved"
	odataSetTimeRegistration = "TimeRegistration"
	odataSetSalesTarget      = "SalesTarget"
	odataSetSalesCategory    = "Datastore_SalesCategory"
	odataSetProduct          = "Product"
	odataSetNote             = "Note"

	// Tribe's relation model (models/relations.go): the relations themselves, and the
	// relationship subtypes over the seeds' tables (the seed sets serve the same rows).
	odataSetRelation             = "Relation"
	odataSetPerson               = "Relation_Person"
	odataSetOrganization         = "Relation_Organization"
	odataSetEmployeeRelationship = "Relationship_Person_Contact_Employee"
	odataSetContactRelationship  = "Relationship_Person_Contact_Standard"
	odataSetCustomer             = "Relationship_Organization_CommercialRelationship_Customer"
	odataSetLead                 = "Relationship_Organization_CommercialRelationship_Lead"
	odataSetIdentity             = "Relationship_Organization_Identity"
	odataSetWebhook              = "Webhook"
)

// odataPhaseType is the base type of the phase subtypes, one per kind (models.Kind.PhaseType).
const odataPhaseType = "Datastore.Phase"

// odataSetName is the entity set serving a type: dots become underscores.
func odataSetName(typ string) string { return strings.ReplaceAll(typ, ".", "_") }

// The changes structs the writers decode bodies into, by short names for the model's lines.
type (
	ac  = models.ActivityChanges
	rc  = models.RelationshipChanges
	cc  = models.ContactChanges
	nc  = models.NamedChanges
	plc = models.ProductLineChanges
	pc  = models.PipelineChanges
	phc = models.PhaseChanges
	tc  = models.TargetChanges
	rlc = models.RelationChanges
	ec  = models.EmployeeChanges
	prc = models.ProductChanges
	ntc = models.NoteChanges
)

// to binds a writable member to the field of the writer's changes struct C that f returns the
// address of.
func to[C any](f func(*C) any) odata.Bind { return func(ch any) any { return f(ch.(*C)) } }

// standardProps are the seeds' standard fields of every entity, plus ImportId (the
// client-supplied key Tribe clients use for idempotent imports). name is the SQL of the computed
// display name (_Name); importID and isActive bind ImportId and IsActive where the set's writer
// takes them (nil: ImportId is read-only, IsActive server-owned).
func standardProps(name string, importID, isActive odata.Bind, more ...odata.Property) []odata.Property {
	active := odata.Prop("IsActive", odata.EdmBoolean, "t.is_active").Required().Computed()
	if isActive != nil {
		active = active.Writes(isActive)
	}
	imp := odata.Prop("ImportId", odata.EdmString, "t.import_id")
	if importID != nil {
		imp = imp.Writes(importID)
	}
	return append([]odata.Property{
		odata.Prop("ID", odata.EdmGuid, "t.id").Required().Computed(),
		odata.Prop("_Type", odata.EdmString, "t.type").Required().Computed(),
		odata.Prop("_Name", odata.EdmString, name).Required().Computed(),
		odata.Prop("SortIndex", odata.EdmDouble, "t.sort_index").Required().Computed(),
		odata.Prop("CreationDate", odata.EdmDateTimeOffset, "t.creation_date").Required().Computed(),
		odata.Prop("LastMutationDate", odata.EdmDateTimeOffset, "t.last_mutation_date").Required().Computed(),
		active,
		odata.Prop("IsClosed", odata.EdmBoolean, "t.is_closed").Required().Computed(),
		imp,
	}, more...)
}

// personName is the display name of a person (a relations row): first and last name.
const personName = "trim(t.first_name || ' ' || t.last_name)"

// Fields of a person relationship's person (t.person_id) and of an organisation
// relationship's organisation (t.organization_id): they live on the relation only. A list,
// $filter and $orderby read them through one LEFT JOIN of the relation per entity
// (relationJoins), not a subquery per property and row; $apply and $compute read these
// subqueries, which give the same values.
const (
	personOfName = "(SELECT trim(p.first_name || ' ' || p.last_name) FROM relations p WHERE p.id = t.person_id)"
	orgOfName    = "(SELECT o.name FROM relations o WHERE o.id = t.organization_id)"
)

func personOf(col string) string {
	return "(SELECT p." + col + " FROM relations p WHERE p.id = t.person_id)"
}

// relationJoins are the joins that read the subqueries above, by their SQL.
var relationJoins = func() map[string]*odata.PropJoin {
	onPerson := func(entity, row string) string { return row + ".id = " + entity + ".person_id" }
	m := map[string]*odata.PropJoin{
		personOfName: {Table: "relations", Value: personName, On: onPerson},
		orgOfName:    {Table: "relations", Column: "name", On: func(entity, row string) string { return row + ".id = " + entity + ".organization_id" }},
	}
	for _, col := range []string{"first_name", "last_name", "email_address"} {
		m[personOf(col)] = &odata.PropJoin{Table: "relations", Column: col, On: onPerson}
	}
	return m
}()

// joinRelationNames gives every property that reads a relation's field by subquery its join.
func joinRelationNames(types []odata.EntityType) {
	for i := range types {
		for j := range types[i].Properties {
			if p := &types[i].Properties[j]; p.Join == nil {
				p.Join = relationJoins[p.SQL]
			}
		}
	}
}

// typed returns props with _Type the constant typ: for a set whose table holds the rows of
// another type (the seeds' employees and contacts are also Tribe's relationship subtypes).
func typed(typ string, props []odata.Property) []odata.Property {
	for i := range props {
		if props[i].Name == odata.TypeProperty {
			props[i].SQL = "'" + typ + "'"
		}
	}
	return props
}

// personRelationship is an employee or contact relationship in Tribe's naming: its Name (the
// person's), the Person and the Relation (the organisation) it links.
func personRelationship(typ string, importID, isActive odata.Bind, person, relation odata.Bind) odata.EntityType {
	personLink := odata.One("Person", odataSetPerson, "person_id").NotNull()
	relationLink := odata.One("Relation", odataSetOrganization, "relation_id")
	if person != nil {
		personLink, relationLink = personLink.Writes(person), relationLink.Writes(relation)
	}
	return odata.EntityType{Name: typ, Properties: typed(typ, standardProps(personOfName, importID, isActive,
		odata.Prop("Name", odata.EdmString, personOfName).Required().Computed(),
	)), NavProps: []odata.NavProp{personLink, relationLink}}
}

// odataModel describes every entity set. writers (by set name) enable writes; sets without one
// are read-only. scope is who may read which activities (models.ReadScope), applied to the
// activity sets and the sets that belong to activities. dialect is the database's
// (migrations.Postgres or SQLite), for the SQL of the converted amounts.
//
// Amounts in the reporting currency (extension): ReportingRate is the rate that converts an
// activity (models' rules: the rate of its date; null when its currency has none), and
// AmountInReportingCurrency, EstimatedAmountInReportingCurrency and
// WeightedAmountInReportingCurrency are the amounts converted with it. A client that wants
// converted totals aggregates those: $apply=groupby((Phase/Name),aggregate(
// WeightedAmountInReportingCurrency with sum as Weighted)). Their null means "no rate", so a
// group holding one has a null sum (never the sum of the rest); how many lack a rate is
// filter(ReportingRate eq null)/aggregate($count as NoRate).
//
// Custom fields (models/customfields.go): each field an admin defined for a kind or a record
// type (models.CustomRecordTypes) is one more member of its type, named by Tribe's rule
// (_117ecf60__d492__…): a property of its EDM type, or for a link a navigation property into
// its target's set. They are declared like
// every other member, so $select, $filter, $orderby, $expand, $metadata and the body decoder
// take them as they take the seeds' fields; defs is the version of the definitions the model
// is built for (odataServices builds a model per version).
func odataModel(writers map[string]odata.Writer, scope func(ctx context.Context) models.Scope, dialect string, defs *models.CustomFieldSet) *odata.Model {
	rate := "(" + models.ReportingRateSQL(dialect, "") + ")"
	types := []odata.EntityType{
		{Name: odataPhaseType, Properties: standardProps("t.name", nil, to(func(c *phc) any { return &c.IsActive }),
			odata.Prop("Name", odata.EdmString, "t.name").Required().Writes(to(func(c *phc) any { return &c.Name })),
			odata.Prop("Code", odata.EdmString, "t.code").Required(),
			odata.Prop("LocalizedName", odata.EdmString, "t.localized_name").Required(),
			odata.Prop("IsDefault", odata.EdmBoolean, "t.is_default").Required(),
			odata.Prop("Icon", odata.EdmString, "t.icon").Required(),
			odata.Prop("ActionName", odata.EdmString, "t.action_name").Required(),
			odata.Prop("LocalizedActionName", odata.EdmString, "t.localized_action_name").Required(),
			odata.Prop("IsAssignable", odata.EdmBoolean, "t.is_assignable").Required(),
			odata.Prop("IsTerminal", odata.EdmBoolean, "t.is_terminal").Required().Writes(to(func(c *phc) any { return &c.IsTerminal })),
			odata.Prop("IsWon", odata.EdmBoolean, "t.is_won").Required().Writes(to(func(c *phc) any { return &c.IsWon })),                                       // extension
			odata.Prop("DefaultProbability", odata.EdmDouble, "t.default_probability").Required().Writes(to(func(c *phc) any { return &c.DefaultProbability })), // extension
		), NavProps: []odata.NavProp{
			odata.One("Pipeline", odataSetPipeline, "pipeline_id").NotNull().WritesOnCreate(to(func(c *phc) any { return &c.PipelineID })),
		}},

		// Activity is the base of every activity kind (one table, told apart by type). Its
		// members are the seed's inherited fields and the relationships every activity has; Phase
		// (typed by the kind's own phase subtype) is on each kind, and the sales-only fields and
		// links are on the opportunity, with the parent link "Activity" (a member named like its
		// own type trips up generated clients).
		{Name: "Activity", Properties: standardProps("t.subject", to(func(c *ac) any { return &c.ImportID }), nil,
			odata.Prop("Subject", odata.EdmString, "t.subject").Required().Writes(to(func(c *ac) any { return &c.Subject })),
			odata.Prop("Number", odata.EdmString, "t.number").Required().Computed(),
			odata.Prop("Amount", odata.EdmDouble, "t.amount").Required().Writes(to(func(c *ac) any { return &c.Amount })),
			odata.Prop("Currency", odata.EdmString, "t.currency").Required().Writes(to(func(c *ac) any { return &c.Currency })),
			odata.Prop("IsVatIncluded", odata.EdmBoolean, "t.is_vat_included").Required().Writes(to(func(c *ac) any { return &c.IsVatIncluded })),
			odata.Prop("DiscountPercentage", odata.EdmDouble, "t.discount_percentage").Required().Writes(to(func(c *ac) any { return &c.DiscountPercentage })),
			odata.Prop("RelationDescription", odata.EdmString, "t.relation_description").Required().Writes(to(func(c *ac) any { return &c.RelationDescription })),
			odata.Prop("NumberOfProductLines", odata.EdmDouble, "t.number_of_product_lines").Required().Computed(),
			odata.Prop("NumberOfOpenTasks", odata.EdmDouble, "t.number_of_open_tasks").Required().Computed(),
			odata.Prop("NumberOfPlannedActions", odata.EdmDouble, "t.number_of_planned_actions").Required().Computed(),
			odata.Prop("BillingAmount", odata.EdmDouble, "t.billing_amount").Required().Writes(to(func(c *ac) any { return &c.BillingAmount })),
			odata.Prop("BillingAmountInCurrency", odata.EdmDouble, "t.billing_amount_in_currency").Required().Writes(to(func(c *ac) any { return &c.BillingAmountInCurrency })),
			odata.Prop("AmountInCurrency", odata.EdmDouble, "t.amount_in_currency").Required().Writes(to(func(c *ac) any { return &c.AmountInCurrency })),
			odata.Prop("TotalSalesExcludingVAT", odata.EdmDouble, "t.total_sales_excluding_vat").Required().Computed(),
			odata.Prop("TotalSalesIncludingVAT", odata.EdmDouble, "t.total_sales_including_vat").Required().Writes(to(func(c *ac) any { return &c.TotalSalesIncludingVAT })),
			odata.Prop("VatAmount", odata.EdmDouble, "t.vat_amount").Required().Writes(to(func(c *ac) any { return &c.VatAmount })),
			odata.Prop("TotalDiscountExcludingVAT", odata.EdmDouble, "t.total_discount_excluding_vat").Required().Writes(to(func(c *ac) any { return &c.TotalDiscountExcludingVAT })),
			odata.Prop("TotalMargin", odata.EdmDouble, "t.total_margin").Required().Writes(to(func(c *ac) any { return &c.TotalMargin })),
			odata.Prop("TotalPurchaseAmount", odata.EdmDouble, "t.total_purchase_amount").Required().Writes(to(func(c *ac) any { return &c.TotalPurchaseAmount })),
			odata.Prop("ReportingRate", odata.EdmDouble, rate).Computed(),                                     // extension
			odata.Prop("AmountInReportingCurrency", odata.EdmDouble, "t.amount * "+rate).Computed().Unknown(), // extension
		), NavProps: []odata.NavProp{
			odata.One("Relationship", odataSetRelationship, "relationship_id").Writes(to(func(c *ac) any { return &c.RelationshipID })),
			odata.One("Contact", odataSetContact, "contact_id").Writes(to(func(c *ac) any { return &c.ContactID })),
			odata.Many("ProductLines", odataSetProductLine, "activity_id"),
			odata.Many("Involved", odataSetInvolved, "activity_id"),
			odata.One("Pipeline", odataSetPipeline, "pipeline_id").NotNull().WritesOnCreate(to(func(c *ac) any { return &c.PipelineID })),
			odata.One("PriceList", odataSetPriceList, "price_list_id").Writes(to(func(c *ac) any { return &c.PriceListID })),
			odata.Many("LinkedActivities", odataSetActivity, "parent_activity_id"),
			odata.Many("TimeRegistrations", odataSetTimeRegistration, "activity_id"),
			// Tribe's Notes; a create may carry new ones ("Notes":[{"Content":…}]), made in its
			// transaction.
			odata.Many("Notes", odataSetNote, "activity_id").DeepInsert(to(func(c *ac) any { return &c.Notes })),
			odata.One("SalesRepresentative", odataSetEmployee, "sales_representative_id").Writes(to(func(c *ac) any { return &c.SalesRepresentativeID })), // extension on kinds other than the opportunity
		}},

		{Name: models.TypePipeline, Properties: standardProps("t.name", nil, to(func(c *pc) any { return &c.IsActive }),
			odata.Prop("Name", odata.EdmString, "t.name").Required().Writes(to(func(c *pc) any { return &c.Name })),
			odata.Prop("ActivityType", odata.EdmString, "t.activity_type").Required().WritesOnCreate(to(func(c *pc) any { return &c.ActivityType })), // extension
		), NavProps: []odata.NavProp{
			odata.Many("Phases", odataSetPhase, "pipeline_id"), // extension
		}},
		// The seeds' Relationship is the base of the organisation relationships in its table:
		// customers, leads and the tenant's identity (Tribe's subtypes). Its Name is the
		// organisation's (Organization, on the subtypes).
		{Name: models.TypeRelationship, Properties: standardProps(orgOfName, to(func(c *rc) any { return &c.ImportID }), to(func(c *rc) any { return &c.IsActive }),
			odata.Prop("Name", odata.EdmString, orgOfName).Required().Writes(to(func(c *rc) any { return &c.Name })),
			odata.Prop("City", odata.EdmString, "t.city").Required().Writes(to(func(c *rc) any { return &c.City })), // extension
		), NavProps: []odata.NavProp{
			odata.Many("Contacts", odataSetContact, "relationship_id"), // extension
			odata.One("Organization", odataSetOrganization, "organization_id").NotNull(),
		}},
		{Name: models.TypeCustomer, BaseType: models.TypeRelationship},
		{Name: models.TypeLead, BaseType: models.TypeRelationship},
		{Name: models.TypeIdentity, BaseType: models.TypeRelationship},
		{Name: models.TypeContact, Properties: standardProps(personOfName, to(func(c *cc) any { return &c.ImportID }), to(func(c *cc) any { return &c.IsActive }),
			odata.Prop("FirstName", odata.EdmString, personOf("first_name")).Required().Writes(to(func(c *cc) any { return &c.FirstName })),
			odata.Prop("LastName", odata.EdmString, personOf("last_name")).Required().Writes(to(func(c *cc) any { return &c.LastName })),
			odata.Prop("Email", odata.EdmString, personOf("email_address")).Required().Writes(to(func(c *cc) any { return &c.Email })),
		), NavProps: []odata.NavProp{
			odata.One("Relationship", odataSetRelationship, "relationship_id").Writes(to(func(c *cc) any { return &c.RelationshipID })),
		}},
		// Employees live in their own table, so Employee is not derived from Contact (it would
		// inherit the contact's Relationship link, which employees do not have). Only IsActive
		// is written: the name is the person's (Relation_Person).
		{Name: models.TypeEmployee, Properties: standardProps(personOfName, nil, to(func(c *ec) any { return &c.IsActive }),
			odata.Prop("FirstName", odata.EdmString, personOf("first_name")).Required(),
			odata.Prop("LastName", odata.EdmString, personOf("last_name")).Required(),
			odata.Prop("Email", odata.EdmString, personOf("email_address")).Required(),
		)},
		personRelationship(models.TypeEmployeeRelationship, nil, to(func(c *ec) any { return &c.IsActive }), nil, nil),
		personRelationship(models.TypeContactRelationship, to(func(c *cc) any { return &c.ImportID }), to(func(c *cc) any { return &c.IsActive }),
			to(func(c *cc) any { return &c.PersonID }), to(func(c *cc) any { return &c.RelationID })),
		// Relations: persons and organisations in one table; the base type holds what both have.
		{Name: models.TypeRelation, Properties: standardProps(
			"CASE WHEN t.type = '"+models.TypePerson+"' THEN "+personName+" ELSE t.name END",
			to(func(c *rlc) any { return &c.ImportID }), to(func(c *rlc) any { return &c.IsActive }),
			odata.Prop("EmailAddress", odata.EdmString, "t.email_address").Required().Writes(to(func(c *rlc) any { return &c.EmailAddress })),
			odata.Prop("PhoneNumber", odata.EdmString, "t.phone_number").Required().Writes(to(func(c *rlc) any { return &c.PhoneNumber })),
		)},
		{Name: models.TypePerson, BaseType: models.TypeRelation, Properties: []odata.Property{
			odata.Prop("FirstName", odata.EdmString, "t.first_name").Required().Writes(to(func(c *rlc) any { return &c.FirstName })),
			odata.Prop("MiddleName", odata.EdmString, "t.middle_name").Required().Writes(to(func(c *rlc) any { return &c.MiddleName })),
			odata.Prop("LastName", odata.EdmString, "t.last_name").Required().Writes(to(func(c *rlc) any { return &c.LastName })),
			odata.Prop("MobilePhoneNumber", odata.EdmString, "t.mobile_phone_number").Required().Writes(to(func(c *rlc) any { return &c.MobilePhoneNumber })),
		}},
		{Name: models.TypeOrganization, BaseType: models.TypeRelation, Properties: []odata.Property{
			odata.Prop("Name", odata.EdmString, "t.name").Required().Writes(to(func(c *rlc) any { return &c.Name })),
		}},
		{Name: models.TypeSource, Properties: namedProps()},
		{Name: models.TypeLostReason, Properties: namedProps()},
		{Name: models.TypeCompetitor, Properties: standardProps(orgOfName, nil, nil,
			odata.Prop("Name", odata.EdmString, orgOfName).Required(),
		), NavProps: []odata.NavProp{
			odata.One("Organization", odataSetOrganization, "organization_id").NotNull(),
		}},
		{Name: models.TypePriceList, Properties: standardProps("t.name", nil, nil,
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("Currency", odata.EdmString, "t.currency").Required(),
		)},
		{Name: models.TypeProductLine, Properties: standardProps("t.description", to(func(c *plc) any { return &c.ImportID }), nil,
			odata.Prop("Description", odata.EdmString, "t.description").Required().Writes(to(func(c *plc) any { return &c.Description })),
			odata.Prop("Quantity", odata.EdmDouble, "t.quantity").Required().Writes(to(func(c *plc) any { return &c.Quantity })),
			odata.Prop("Price", odata.EdmDouble, "t.price").Required().Writes(to(func(c *plc) any { return &c.Price })),
			odata.Prop("Amount", odata.EdmDouble, "t.amount").Required().Computed(), // Quantity × Price
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id").NotNull().WritesOnCreate(to(func(c *plc) any { return &c.ActivityID })),
			// Linking a product gives the line its SalesPrice and Name unless the body sets them.
			odata.One("Product", odataSetProduct, "product_id").Writes(to(func(c *plc) any { return &c.ProductID })),
		}},
		{Name: models.TypeNote, Properties: standardProps("t.content", to(func(c *ntc) any { return &c.ImportID }), nil,
			odata.Prop("Content", odata.EdmString, "t.content").Required().Writes(to(func(c *ntc) any { return &c.Content })),
			odata.Prop("IsPinned", odata.EdmBoolean, "t.is_pinned").Required().Writes(to(func(c *ntc) any { return &c.IsPinned })),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id").NotNull().WritesOnCreate(to(func(c *ntc) any { return &c.ActivityID })),
			odata.One("CreatedBy", odataSetEmployeeRelationship, "created_by"), // extension: who wrote it
		}},
		{Name: models.TypeProduct, Properties: standardProps("t.name", to(func(c *prc) any { return &c.ImportID }), to(func(c *prc) any { return &c.IsActive }),
			odata.Prop("Name", odata.EdmString, "t.name").Required().Writes(to(func(c *prc) any { return &c.Name })),
			odata.Prop("Code", odata.EdmString, "t.code").Required().Writes(to(func(c *prc) any { return &c.Code })),
			odata.Prop("Description", odata.EdmString, "t.description").Required().Writes(to(func(c *prc) any { return &c.Description })),
			odata.Prop("SalesPrice", odata.EdmDouble, "t.sales_price").Required().Writes(to(func(c *prc) any { return &c.SalesPrice })),
			odata.Prop("PurchasePrice", odata.EdmDouble, "t.purchase_price").Required().Writes(to(func(c *prc) any { return &c.PurchasePrice })),
			odata.Prop("IsVatIncluded", odata.EdmBoolean, "t.is_vat_included").Required().Writes(to(func(c *prc) any { return &c.IsVatIncluded })),
		), NavProps: []odata.NavProp{
			odata.Many("ProductLine", odataSetProductLine, "product_id"), // Tribe's name (1:N)
		}},
		// An involved party's display name is the person's, else the role.
		{Name: models.TypeInvolved, Properties: standardProps(
			"COALESCE((SELECT trim(ip.first_name || ' ' || ip.last_name) FROM employees ie JOIN relations ip ON ip.id = ie.person_id WHERE ie.id = t.employee_id), "+
				"(SELECT trim(ip.first_name || ' ' || ip.last_name) FROM contacts ic JOIN relations ip ON ip.id = ic.person_id WHERE ic.id = t.contact_id), t.role)", nil, nil,
			odata.Prop("Role", odata.EdmString, "t.role").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id").NotNull(),
			odata.One("Employee", odataSetEmployee, "employee_id"),
			odata.One("Contact", odataSetContact, "contact_id"),
		}},
		// Tribe's SalesTarget: Amount, Person (none: the team's target) and SalesCategory, with
		// its period as StartDate and EndDate (a whole month or quarter; extension). Managers
		// write them (models.SaveTarget); who reads them is ReadScope over the person.
		{Name: models.TypeSalesTarget, Properties: standardProps(
			"COALESCE((SELECT trim(tp.first_name || ' ' || tp.last_name) FROM employees te JOIN relations tp ON tp.id = te.person_id WHERE te.id = t.person_id), 'Team') || ' ' || CAST(t.start_date AS text)",
			to(func(c *tc) any { return &c.ImportID }), nil,
			odata.Prop("Amount", odata.EdmDouble, "t.amount").Required().Writes(to(func(c *tc) any { return &c.Amount })),
			odata.Prop("StartDate", odata.EdmDate, "t.start_date").Required().Writes(to(func(c *tc) any { return &c.StartDate })), // extension
			odata.Prop("EndDate", odata.EdmDate, "t.end_date").Required().Writes(to(func(c *tc) any { return &c.EndDate })),       // extension
		), NavProps: []odata.NavProp{
			odata.One("Person", odataSetEmployee, "person_id").Writes(to(func(c *tc) any { return &c.PersonID })),
			odata.One("SalesCategory", odataSetSalesCategory, "sales_category_id").Writes(to(func(c *tc) any { return &c.SalesCategoryID })),
		}},
		{Name: models.TypeSalesCategory, Properties: namedProps()},
		{Name: models.TypeTimeRegistration, Properties: standardProps("t.description", nil, nil,
			odata.Prop("Date", odata.EdmDate, "t.date").Required(),
			odata.Prop("Hours", odata.EdmDouble, "t.hours").Required(),
			odata.Prop("Description", odata.EdmString, "t.description").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id").NotNull(),
			odata.One("Employee", odataSetEmployee, "employee_id"),
		}},
	}

	// The custom fields of the records beside activities. Relationship's are inherited by its
	// subtypes (customers, leads, the identity); a contact's and an employee's are on both types
	// that serve their table.
	for _, r := range []struct {
		types []string
		of    string
		bind  func(uuid.UUID) odata.Bind
	}{
		{[]string{models.TypePerson}, models.TypePerson, customBind(func(c *rlc) *models.CustomValues { return &c.Custom })},
		{[]string{models.TypeOrganization}, models.TypeOrganization, customBind(func(c *rlc) *models.CustomValues { return &c.Custom })},
		{[]string{models.TypeRelationship}, models.TypeRelationship, customBind(func(c *rc) *models.CustomValues { return &c.Custom })},
		{[]string{models.TypeContact, models.TypeContactRelationship}, models.TypeContact, customBind(func(c *cc) *models.CustomValues { return &c.Custom })},
		{[]string{models.TypeEmployee, models.TypeEmployeeRelationship}, models.TypeEmployee, customBind(func(c *ec) *models.CustomValues { return &c.Custom })},
		{[]string{models.TypeProduct}, models.TypeProduct, customBind(func(c *prc) *models.CustomValues { return &c.Custom })},
	} {
		for i := range types {
			if slices.Contains(r.types, types[i].Name) {
				withCustom(&types[i], defs.For(r.of), r.bind)
			}
		}
	}

	// Tribe's read-only Webhook set (managed through /v1/webhooks: webhooks.go); its secret and
	// headers are not part of it.
	types = append(types, odata.EntityType{Name: models.TypeWebhook, Properties: []odata.Property{
		odata.Prop("ID", odata.EdmGuid, "t.id").Required().Computed(),
		odata.Prop("EntityType", odata.EdmString, "t.entity_type").Required().Computed(),
		odata.Prop("WebhookUrl", odata.EdmString, "t.webhook_url").Required().Computed(),
		odata.Prop("IsFailing", odata.EdmBoolean, "t.failing").Required().Computed(), // extension
		odata.Prop("CreationDate", odata.EdmDateTimeOffset, "t.creation_date").Required().Computed(),
	}})

	// Who may read which activities: the activity sets directly, their lines, parties and hours
	// through the activity they belong to.
	ownActivities := func(ctx context.Context) (string, []any) {
		return scope(ctx).Where("t.sales_representative_id")
	}
	ofVisibleActivity := func(ctx context.Context) (string, []any) {
		cond, args := scope(ctx).Where("va.sales_representative_id")
		if cond == "" {
			return "", nil
		}
		return "EXISTS (SELECT 1 FROM activities va WHERE va.id = t.activity_id AND " + cond + ")", args
	}

	// $search looks in an activity's subject, number, customer and contact names.
	activitySearch := []string{"Subject", "Number", "Relationship/Name", "Contact/_Name"}
	sets := []odata.EntitySet{
		{Name: odataSetPhase, Type: odataPhaseType, Table: "phases"},
		// ETag: activities.version, bumped on every write (If-Match, @odata.etag).
		{Name: odataSetActivity, Type: "Activity", Table: "activities", ETag: "t.version", Restrict: ownActivities, Search: activitySearch},
	}
	for _, k := range models.Kinds {
		// The kind's phases: a subtype of Datastore.Phase over the phases table.
		types = append(types, odata.EntityType{Name: k.PhaseType, BaseType: odataPhaseType})
		sets = append(sets, odata.EntitySet{Name: odataSetName(k.PhaseType), Type: k.PhaseType, Table: "phases", Where: "t.type = '" + k.PhaseType + "'"})
		// The kind's activities: a subtype of Activity with its own Phase link; the opportunity
		// adds the sales fields.
		kind := odata.EntityType{Name: k.Type, BaseType: "Activity", NavProps: []odata.NavProp{
			odata.One("Phase", odataSetName(k.PhaseType), "phase_id").NotNull().Writes(to(func(c *ac) any { return &c.PhaseID })),
		}}
		set := odata.EntitySet{Name: odataSetName(k.Type), Type: k.Type, Table: "activities",
			Where: "t.type = '" + k.Type + "'", ETag: "t.version", Restrict: ownActivities, Search: activitySearch}
		if k.Sales {
			kind.Properties = salesProps(rate)
			kind.NavProps = append(kind.NavProps, salesLinks()...)
			set.Rollup = salesRollup(dialect)
		}
		withCustom(&kind, defs.For(k.Type), customBind(func(c *ac) *models.CustomValues { return &c.Custom }))
		types = append(types, kind)
		sets = append(sets, set)
	}
	sets = append(sets,
		odata.EntitySet{Name: odataSetPipeline, Type: models.TypePipeline, Table: "pipelines"},
		// The seeds' Relationship: the customers and leads (the tenant's identity has its own set).
		odata.EntitySet{Name: odataSetRelationship, Type: models.TypeRelationship, Table: "relationships", Where: "t.type <> '" + models.TypeIdentity + "'"},
		odata.EntitySet{Name: odataSetContact, Type: models.TypeContact, Table: "contacts"},
		odata.EntitySet{Name: odataSetEmployee, Type: models.TypeEmployee, Table: "employees"},
		odata.EntitySet{Name: odataSetEmployeeRelationship, Type: models.TypeEmployeeRelationship, Table: "employees"},
		odata.EntitySet{Name: odataSetContactRelationship, Type: models.TypeContactRelationship, Table: "contacts"},
		odata.EntitySet{Name: odataSetCustomer, Type: models.TypeCustomer, Table: "relationships", Where: "t.type = '" + models.TypeCustomer + "'"},
		odata.EntitySet{Name: odataSetLead, Type: models.TypeLead, Table: "relationships", Where: "t.type = '" + models.TypeLead + "'"},
		odata.EntitySet{Name: odataSetIdentity, Type: models.TypeIdentity, Table: "relationships", Where: "t.type = '" + models.TypeIdentity + "'"},
		odata.EntitySet{Name: odataSetRelation, Type: models.TypeRelation, Table: "relations"},
		odata.EntitySet{Name: odataSetPerson, Type: models.TypePerson, Table: "relations", Where: "t.type = '" + models.TypePerson + "'"},
		odata.EntitySet{Name: odataSetOrganization, Type: models.TypeOrganization, Table: "relations", Where: "t.type = '" + models.TypeOrganization + "'"},
		odata.EntitySet{Name: odataSetSource, Type: models.TypeSource, Table: "sources"},
		odata.EntitySet{Name: odataSetLostReason, Type: models.TypeLostReason, Table: "lost_reasons"},
		odata.EntitySet{Name: odataSetCompetitor, Type: models.TypeCompetitor, Table: "competitors"},
		odata.EntitySet{Name: odataSetPriceList, Type: models.TypePriceList, Table: "price_lists"},
		odata.EntitySet{Name: odataSetProductLine, Type: models.TypeProductLine, Table: "product_lines", Restrict: ofVisibleActivity},
		odata.EntitySet{Name: odataSetInvolved, Type: models.TypeInvolved, Table: "involved", Restrict: ofVisibleActivity},
		odata.EntitySet{Name: odataSetTimeRegistration, Type: models.TypeTimeRegistration, Table: "time_registrations", Restrict: ofVisibleActivity},
		odata.EntitySet{Name: odataSetSalesTarget, Type: models.TypeSalesTarget, Table: "sales_targets", Restrict: func(ctx context.Context) (string, []any) {
			return scope(ctx).Where("t.person_id")
		}},
		odata.EntitySet{Name: odataSetSalesCategory, Type: models.TypeSalesCategory, Table: "sales_categories"},
		odata.EntitySet{Name: odataSetProduct, Type: models.TypeProduct, Table: "products"},
		odata.EntitySet{Name: odataSetNote, Type: models.TypeNote, Table: "notes", Restrict: ofVisibleActivity},
		odata.EntitySet{Name: odataSetWebhook, Type: models.TypeWebhook, Table: "webhooks", Restrict: func(ctx context.Context) (string, []any) {
			if !models.MayManageWebhooks(models.ActorFrom(ctx)) {
				return "1 = 0", nil // webhooks are the managers' and admins'
			}
			return "", nil
		}},
	)
	for i := range sets {
		sets[i].Writer = writers[sets[i].Name]
	}
	joinRelationNames(types)
	return &odata.Model{Namespace: "Phaseboard", Types: types, Sets: sets}
}

// salesRollup is the maintained forecast_rollups (models/rollups.go), which $apply reads in
// place of the opportunities when it can: their count and amounts per phase, pipeline, owner,
// currency, own forecast category and rate day (its day: the rate of a rollup row).
func salesRollup(dialect string) *odata.Rollup {
	rate := "(" + models.ReportingRateSQL(dialect, "t.day") + ")"
	return &odata.Rollup{Table: "forecast_rollups", Count: "n",
		Keys: []string{"phase_id", "pipeline_id", "sales_representative_id", "currency", "is_closed", "forecast_category"},
		Sums: map[string]string{
			"Amount": "t.amount", "EstimatedAmount": "t.estimated_amount", "WeightedAmount": "t.weighted_amount",
			"AmountInReportingCurrency": "t.amount * " + rate, "EstimatedAmountInReportingCurrency": "t.estimated_amount * " + rate,
			"WeightedAmountInReportingCurrency": "t.weighted_amount * " + rate,
		}}
}

// salesProps are the sales opportunity's own fields (the seed's "Sales Opportunity Fields"),
// and its amounts converted with rate (the SQL of ReportingRate).
func salesProps(rate string) []odata.Property {
	return []odata.Property{
		odata.Prop("Probability", odata.EdmDouble, "t.probability").Writes(to(func(c *ac) any { return &c.Probability })),
		odata.Prop("WeightedAmount", odata.EdmDouble, "t.weighted_amount").Computed(),
		odata.Prop("EstimatedAmount", odata.EdmDouble, "t.estimated_amount").Writes(to(func(c *ac) any { return &c.EstimatedAmount })),
		odata.Prop("ExpectedOrderDate", odata.EdmDate, "t.expected_order_date").Writes(to(func(c *ac) any { return &c.ExpectedOrderDate })),
		// The opportunity's own forecast category; null follows its phase's. Extension.
		odata.Prop("ForecastCategory", odata.EdmString, "t.forecast_category").Writes(to(func(c *ac) any { return &c.ForecastCategory })),
		odata.Prop("EstimatedAmountInReportingCurrency", odata.EdmDouble, "t.estimated_amount * "+rate).Computed().Unknown(), // extension
		odata.Prop("WeightedAmountInReportingCurrency", odata.EdmDouble, "t.weighted_amount * "+rate).Computed().Unknown(),   // extension
	}
}

// salesLinks are the sales opportunity's own relationships in the seed.
func salesLinks() []odata.NavProp {
	return []odata.NavProp{
		odata.One("Source", odataSetSource, "source_id").Writes(to(func(c *ac) any { return &c.SourceID })),
		odata.One("LostReason", odataSetLostReason, "lost_reason_id").Writes(to(func(c *ac) any { return &c.LostReasonID })),
		odata.One("LostToCompetitor", odataSetCompetitor, "lost_to_competitor_id").Writes(to(func(c *ac) any { return &c.LostToCompetitorID })),
		odata.One("Activity", odataSetActivity, "parent_activity_id"),
	}
}

// namedProps are the fields of the simple named lookups (sources, lost reasons).
func namedProps() []odata.Property {
	return standardProps("t.name", to(func(c *nc) any { return &c.ImportID }), to(func(c *nc) any { return &c.IsActive }),
		odata.Prop("Name", odata.EdmString, "t.name").Required().Writes(to(func(c *nc) any { return &c.Name })),
		odata.Prop("Code", odata.EdmString, "t.code").Required().Writes(to(func(c *nc) any { return &c.Code })),
	)
}

// customEdmTypes are the EDM types of the custom field kinds (links are navigation properties).
var customEdmTypes = map[string]odata.EdmType{
	models.CustomText: odata.EdmString, models.CustomChoice: odata.EdmString, models.CustomNumber: odata.EdmDouble,
	models.CustomDate: odata.EdmDate, models.CustomBoolean: odata.EdmBoolean,
}

// customBind binds a custom field's member to the custom values of the writer's changes struct
// C that values returns the address of (models.CustomSlot).
func customBind[C any](values func(*C) *models.CustomValues) func(field uuid.UUID) odata.Bind {
	return func(field uuid.UUID) odata.Bind {
		return to(func(c *C) any { return models.CustomSlot{Values: values(c), Field: field} })
	}
}

// withCustom adds the members of custom fields to typ: nullable (null clears a value), written
// through bind, the value's SQL a read of custom_field_values (joined in $filter and $orderby,
// so that a filter on a field is driven by its index).
func withCustom(typ *odata.EntityType, fields []models.CustomField, bind func(field uuid.UUID) odata.Bind) {
	for _, f := range fields {
		if f.Kind == models.CustomLink {
			typ.NavProps = append(typ.NavProps, odata.OneVia(f.APIName(), odataSetName(f.LinkTarget), f.ValueSQL()).Writes(bind(f.ID)))
			continue
		}
		p := odata.Prop(f.APIName(), customEdmTypes[f.Kind], f.ValueSQL()).Writes(bind(f.ID))
		p.Join = &odata.PropJoin{Table: "custom_field_values", Column: f.ValueColumn(), On: f.JoinOn}
		typ.Properties = append(typ.Properties, p)
	}
}
