package handlers

import (
	"strings"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// This file is the one description of Phaseboard's OData entity model: it drives name
// resolution, the SQL, the JSON and $metadata of /v1/odata (package web/odata). Names follow
// the seeds (../shared/seeds): a type "Datastore.Phase.ActivityInvoice" is served by the set
// "Datastore_Phase_ActivityInvoice". A property is one line: its name, EDM type and the SQL over
// the set's table (always aliased "t"). Secrets (users, sessions, API clients, tokens) are not
// part of the model.
//
// Extensions beside the seeds, marked "extension" below: a phase's DefaultProbability and IsWon,
// a pipeline's ActivityType and Phases, a relationship's City and Contacts, and the fields of the
// entities the seeds only name as relationship targets (sources, lost reasons, competitors, price
// lists, product lines, involved parties, time registrations, employees, contacts).

// Set names of the model, for code that refers to them.
const (
	odataSetPhase            = "Datastore_Phase"
	odataSetOpportunity      = "Activity_SalesOpportunity"
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
)

// odataPhaseType is the base type of the 15 phase subtypes (models.PhaseType).
const odataPhaseType = "Datastore.Phase"

// odataSetName is the entity set serving a type: dots become underscores.
func odataSetName(typ string) string { return strings.ReplaceAll(typ, ".", "_") }

// standardProps are the seeds' standard fields of every entity, plus ImportId (the
// client-supplied key Tribe clients use for idempotent imports). name is the SQL of the computed
// display name (_Name).
func standardProps(name string, more ...odata.Property) []odata.Property {
	return append([]odata.Property{
		odata.Prop("ID", odata.EdmGuid, "t.id").Required(),
		odata.Prop("_Type", odata.EdmString, "t.type").Required(),
		odata.Prop("_Name", odata.EdmString, name).Required(),
		odata.Prop("SortIndex", odata.EdmDouble, "t.sort_index").Required(),
		odata.Prop("CreationDate", odata.EdmDateTimeOffset, "t.creation_date").Required(),
		odata.Prop("LastMutationDate", odata.EdmDateTimeOffset, "t.last_mutation_date").Required(),
		odata.Prop("IsActive", odata.EdmBoolean, "t.is_active").Required(),
		odata.Prop("IsClosed", odata.EdmBoolean, "t.is_closed").Required(),
		odata.Prop("ImportId", odata.EdmString, "t.import_id"),
	}, more...)
}

// personName is the display name of a person row: first and last name.
const personName = "trim(t.first_name || ' ' || t.last_name)"

// odataModel describes every entity set. writers (by set name) enable writes; sets without one
// are read-only.
func odataModel(writers map[string]odata.Writer) *odata.Model {
	types := []odata.EntityType{
		{Name: odataPhaseType, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("Code", odata.EdmString, "t.code").Required(),
			odata.Prop("LocalizedName", odata.EdmString, "t.localized_name").Required(),
			odata.Prop("IsDefault", odata.EdmBoolean, "t.is_default").Required(),
			odata.Prop("Icon", odata.EdmString, "t.icon").Required(),
			odata.Prop("ActionName", odata.EdmString, "t.action_name").Required(),
			odata.Prop("LocalizedActionName", odata.EdmString, "t.localized_action_name").Required(),
			odata.Prop("IsAssignable", odata.EdmBoolean, "t.is_assignable").Required(),
			odata.Prop("IsTerminal", odata.EdmBoolean, "t.is_terminal").Required(),
			odata.Prop("IsWon", odata.EdmBoolean, "t.is_won").Required(),                          // extension
			odata.Prop("DefaultProbability", odata.EdmDouble, "t.default_probability").Required(), // extension
		), NavProps: []odata.NavProp{
			odata.One("Pipeline", odataSetPipeline, "pipeline_id"),
		}},

		// Activity is the base of every activity type (one table, told apart by type). Its
		// relationships are the seed's opportunity relationships that every activity has; Phase
		// (typed by the activity's own phase subtype) and the sales-only links are on the
		// opportunity, and so is the parent link "Activity" (a member named like its own type
		// trips up generated clients).
		{Name: "Activity", Properties: standardProps("t.subject",
			odata.Prop("Subject", odata.EdmString, "t.subject").Required(),
			odata.Prop("Number", odata.EdmString, "t.number").Required(),
			odata.Prop("Amount", odata.EdmDouble, "t.amount").Required(),
			odata.Prop("Currency", odata.EdmString, "t.currency").Required(),
			odata.Prop("IsVatIncluded", odata.EdmBoolean, "t.is_vat_included").Required(),
			odata.Prop("DiscountPercentage", odata.EdmDouble, "t.discount_percentage").Required(),
			odata.Prop("RelationDescription", odata.EdmString, "t.relation_description").Required(),
			odata.Prop("NumberOfProductLines", odata.EdmDouble, "t.number_of_product_lines").Required(),
			odata.Prop("NumberOfOpenTasks", odata.EdmDouble, "t.number_of_open_tasks").Required(),
			odata.Prop("NumberOfPlannedActions", odata.EdmDouble, "t.number_of_planned_actions").Required(),
			odata.Prop("BillingAmount", odata.EdmDouble, "t.billing_amount").Required(),
			odata.Prop("BillingAmountInCurrency", odata.EdmDouble, "t.billing_amount_in_currency").Required(),
			odata.Prop("AmountInCurrency", odata.EdmDouble, "t.amount_in_currency").Required(),
			odata.Prop("TotalSalesExcludingVAT", odata.EdmDouble, "t.total_sales_excluding_vat").Required(),
			odata.Prop("TotalSalesIncludingVAT", odata.EdmDouble, "t.total_sales_including_vat").Required(),
			odata.Prop("VatAmount", odata.EdmDouble, "t.vat_amount").Required(),
			odata.Prop("TotalDiscountExcludingVAT", odata.EdmDouble, "t.total_discount_excluding_vat").Required(),
			odata.Prop("TotalMargin", odata.EdmDouble, "t.total_margin").Required(),
			odata.Prop("TotalPurchaseAmount", odata.EdmDouble, "t.total_purchase_amount").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Relationship", odataSetRelationship, "relationship_id"),
			odata.One("Contact", odataSetContact, "contact_id"),
			odata.Many("ProductLines", odataSetProductLine, "activity_id"),
			odata.Many("Involved", odataSetInvolved, "activity_id"),
			odata.One("Pipeline", odataSetPipeline, "pipeline_id"),
			odata.One("PriceList", odataSetPriceList, "price_list_id"),
			odata.Many("LinkedActivities", odataSetActivity, "parent_activity_id"),
			odata.Many("TimeRegistrations", odataSetTimeRegistration, "activity_id"),
		}},
		{Name: models.TypeSalesOpportunity, BaseType: "Activity", Properties: []odata.Property{
			odata.Prop("Probability", odata.EdmDouble, "t.probability"),
			odata.Prop("WeightedAmount", odata.EdmDouble, "t.weighted_amount"),
			odata.Prop("EstimatedAmount", odata.EdmDouble, "t.estimated_amount"),
			odata.Prop("ExpectedOrderDate", odata.EdmDate, "t.expected_order_date"),
		}, NavProps: []odata.NavProp{
			odata.One("Phase", odataSetName(models.PhaseType("SalesOpportunity")), "phase_id"),
			odata.One("Source", odataSetSource, "source_id"),
			odata.One("SalesRepresentative", odataSetEmployee, "sales_representative_id"),
			odata.One("LostReason", odataSetLostReason, "lost_reason_id"),
			odata.One("LostToCompetitor", odataSetCompetitor, "lost_to_competitor_id"),
			odata.One("Activity", odataSetActivity, "parent_activity_id"),
		}},

		{Name: models.TypePipeline, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("ActivityType", odata.EdmString, "t.activity_type").Required(), // extension
		), NavProps: []odata.NavProp{
			odata.Many("Phases", odataSetPhase, "pipeline_id"), // extension
		}},
		{Name: models.TypeRelationship, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("City", odata.EdmString, "t.city").Required(), // extension
		), NavProps: []odata.NavProp{
			odata.Many("Contacts", odataSetContact, "relationship_id"), // extension
		}},
		{Name: models.TypeContact, Properties: standardProps(personName,
			odata.Prop("FirstName", odata.EdmString, "t.first_name").Required(),
			odata.Prop("LastName", odata.EdmString, "t.last_name").Required(),
			odata.Prop("Email", odata.EdmString, "t.email").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Relationship", odataSetRelationship, "relationship_id"),
		}},
		// Employees live in their own table, so Employee is not derived from Contact (it would
		// inherit the contact's Relationship link, which employees do not have).
		{Name: models.TypeEmployee, Properties: standardProps(personName,
			odata.Prop("FirstName", odata.EdmString, "t.first_name").Required(),
			odata.Prop("LastName", odata.EdmString, "t.last_name").Required(),
			odata.Prop("Email", odata.EdmString, "t.email").Required(),
		)},
		{Name: models.TypeSource, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("Code", odata.EdmString, "t.code").Required(),
		)},
		{Name: models.TypeLostReason, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("Code", odata.EdmString, "t.code").Required(),
		)},
		{Name: models.TypeCompetitor, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
		)},
		{Name: models.TypePriceList, Properties: standardProps("t.name",
			odata.Prop("Name", odata.EdmString, "t.name").Required(),
			odata.Prop("Currency", odata.EdmString, "t.currency").Required(),
		)},
		{Name: models.TypeProductLine, Properties: standardProps("t.description",
			odata.Prop("Description", odata.EdmString, "t.description").Required(),
			odata.Prop("Quantity", odata.EdmDouble, "t.quantity").Required(),
			odata.Prop("Price", odata.EdmDouble, "t.price").Required(),
			odata.Prop("Amount", odata.EdmDouble, "t.amount").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id"),
		}},
		// An involved party's display name is the person's, else the role.
		{Name: models.TypeInvolved, Properties: standardProps(
			"COALESCE((SELECT trim(ie.first_name || ' ' || ie.last_name) FROM employees ie WHERE ie.id = t.employee_id), "+
				"(SELECT trim(ic.first_name || ' ' || ic.last_name) FROM contacts ic WHERE ic.id = t.contact_id), t.role)",
			odata.Prop("Role", odata.EdmString, "t.role").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id"),
			odata.One("Employee", odataSetEmployee, "employee_id"),
			odata.One("Contact", odataSetContact, "contact_id"),
		}},
		{Name: models.TypeTimeRegistration, Properties: standardProps("t.description",
			odata.Prop("Date", odata.EdmDate, "t.date").Required(),
			odata.Prop("Hours", odata.EdmDouble, "t.hours").Required(),
			odata.Prop("Description", odata.EdmString, "t.description").Required(),
		), NavProps: []odata.NavProp{
			odata.One("Activity", odataSetActivity, "activity_id"),
			odata.One("Employee", odataSetEmployee, "employee_id"),
		}},
	}

	sets := []odata.EntitySet{
		{Name: odataSetPhase, Type: odataPhaseType, Table: "phases"},
	}
	// The 15 phase subtypes: one set each over the phases table.
	for _, kind := range models.ActivityKinds {
		typ := models.PhaseType(kind)
		types = append(types, odata.EntityType{Name: typ, BaseType: odataPhaseType})
		sets = append(sets, odata.EntitySet{Name: odataSetName(typ), Type: typ, Table: "phases", Where: "t.type = '" + typ + "'"})
	}
	sets = append(sets,
		// ETag: activities.version, bumped on every write (If-Match, @odata.etag; odata_write.go).
		odata.EntitySet{Name: odataSetOpportunity, Type: models.TypeSalesOpportunity, Table: "activities",
			Where: "t.type = '" + models.TypeSalesOpportunity + "'", ETag: "t.version"},
		odata.EntitySet{Name: odataSetActivity, Type: "Activity", Table: "activities", ETag: "t.version"},
		odata.EntitySet{Name: odataSetPipeline, Type: models.TypePipeline, Table: "pipelines"},
		odata.EntitySet{Name: odataSetRelationship, Type: models.TypeRelationship, Table: "relationships"},
		odata.EntitySet{Name: odataSetContact, Type: models.TypeContact, Table: "contacts"},
		odata.EntitySet{Name: odataSetEmployee, Type: models.TypeEmployee, Table: "employees"},
		odata.EntitySet{Name: odataSetSource, Type: models.TypeSource, Table: "sources"},
		odata.EntitySet{Name: odataSetLostReason, Type: models.TypeLostReason, Table: "lost_reasons"},
		odata.EntitySet{Name: odataSetCompetitor, Type: models.TypeCompetitor, Table: "competitors"},
		odata.EntitySet{Name: odataSetPriceList, Type: models.TypePriceList, Table: "price_lists"},
		odata.EntitySet{Name: odataSetProductLine, Type: models.TypeProductLine, Table: "product_lines"},
		odata.EntitySet{Name: odataSetInvolved, Type: models.TypeInvolved, Table: "involved"},
		odata.EntitySet{Name: odataSetTimeRegistration, Type: models.TypeTimeRegistration, Table: "time_registrations"},
	)
	for i := range sets {
		sets[i].Writer = writers[sets[i].Name]
	}
	return &odata.Model{Namespace: "Phaseboard", Types: types, Sets: sets}
}
