package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// Migration 12 moves the people and customers a database holds into Tribe's relation model: each
// employee and contact gets its person, each customer and competitor its organisation, and the
// board, forecast and pickers go on showing the same names, on both databases.
func TestRelationMigrationKeepsTheNames(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s, err := models.Open(storetest.URL(t, dialect))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := migrations.ApplyBefore(ctx, s.SQL(), dialect, 12); err != nil {
				t.Fatal(err)
			}
			// Rows as the schema before migration 12 held them.
			now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
			emp, cust, contact, rival := uuid.New(), uuid.New(), uuid.New(), uuid.New()
			pipe, phase, act, client := uuid.New(), uuid.New(), uuid.New(), uuid.New()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO employees (id, type, creation_date, last_mutation_date, first_name, last_name, email) VALUES (?, ?, ?, ?, 'Ada', 'Lovelace', 'ada@example.com')`,
					[]any{emp, models.TypeEmployee, now, now}},
				{`INSERT INTO relationships (id, type, creation_date, last_mutation_date, name, city) VALUES (?, 'Relationship', ?, ?, 'Analytical Engines', 'London')`,
					[]any{cust, now, now}},
				{`INSERT INTO contacts (id, type, creation_date, last_mutation_date, first_name, last_name, email, relationship_id) VALUES (?, ?, ?, ?, 'Charles', 'Babbage', 'cb@example.com', ?)`,
					[]any{contact, models.TypeContact, now, now, cust}},
				{`INSERT INTO competitors (id, type, creation_date, last_mutation_date, name) VALUES (?, ?, ?, ?, 'Difference Inc')`,
					[]any{rival, models.TypeCompetitor, now, now}},
				{`INSERT INTO api_clients (id, name, secret_hash, scopes, creation_date) VALUES (?, 'Old import', 'x', 'read', ?)`, []any{client, now}},
				{`INSERT INTO pipelines (id, type, creation_date, last_mutation_date, name, activity_type) VALUES (?, ?, ?, ?, 'Sales', ?)`,
					[]any{pipe, models.TypePipeline, now, now, models.SalesOpportunity.Type}},
				{`INSERT INTO phases (id, type, creation_date, last_mutation_date, pipeline_id, name) VALUES (?, ?, ?, ?, ?, 'Open')`,
					[]any{phase, models.SalesOpportunity.PhaseType, now, now, pipe}},
				{`INSERT INTO activities (id, type, creation_date, last_mutation_date, subject, number, pipeline_id, phase_id, relationship_id, contact_id,
					sales_representative_id, lost_to_competitor_id, phase_entered_at, estimated_amount, probability, weighted_amount)
					VALUES (?, ?, ?, ?, 'Engine', '2026-00001', ?, ?, ?, ?, ?, ?, ?, 100, 10, 10)`,
					[]any{act, models.SalesOpportunity.Type, now, now, pipe, phase, cust, contact, emp, rival, now}},
			} {
				if err := s.DB.Exec(q.sql, q.args...).Error; err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}

			ctx = models.WithActor(ctx, models.Actor{})
			card, err := s.Card(ctx, act)
			if err != nil || card.CustomerName != "Analytical Engines" || card.RepName != "Ada Lovelace" {
				t.Fatalf("card after the migration: %+v %v", card, err)
			}
			e, err := s.Employee(ctx, emp)
			if err != nil || e.FirstName != "Ada" || e.Email != "ada@example.com" || e.PersonID == nil || *e.RelationID != models.IdentityOrganizationID {
				t.Fatalf("employee: %+v %v", e, err)
			}
			c, err := s.Contact(ctx, contact)
			if err != nil || c.LastName != "Babbage" || c.RelationID == nil || *c.RelationshipID != cust {
				t.Fatalf("contact: %+v %v", c, err)
			}
			rels, err := s.Relationships(ctx)
			if err != nil || len(rels) != 1 || rels[0].Name != "Analytical Engines" || rels[0].City != "London" || rels[0].Type != models.TypeCustomer {
				t.Fatalf("customers (the identity is not one): %+v %v", rels, err)
			}
			rivals, err := s.Competitors(ctx)
			if err != nil || len(rivals) != 1 || rivals[0].Name != "Difference Inc" {
				t.Fatalf("competitors: %+v %v", rivals, err)
			}
			// The contact's Relation is the organisation of its customer.
			if *c.RelationID != *rels[0].OrganizationID {
				t.Fatalf("contact's organisation %v, the customer's %v", *c.RelationID, *rels[0].OrganizationID)
			}
			var persons, orgs int64
			s.DB.Model(&models.Relation{}).Where("type = ?", models.TypePerson).Count(&persons)
			s.DB.Model(&models.Relation{}).Where("type = ?", models.TypeOrganization).Count(&orgs)
			if persons != 3 || orgs != 3 { // Ada, Charles, the client's; the customer, the competitor, the tenant's own
				t.Fatalf("%d persons, %d organisations", persons, orgs)
			}
			// The client that acted as no employee acts as its own now.
			var clients []models.APIClient
			if err := s.DB.Where("id = ?", client).Find(&clients).Error; err != nil || len(clients) != 1 || clients[0].EmployeeID == nil || *clients[0].EmployeeID != client {
				t.Fatalf("the client's employee: %+v %v", clients, err)
			}
			if own, err := s.Employee(ctx, client); err != nil || own.FullName() != "Old import" {
				t.Fatalf("the client's own employee: %+v %v", own, err)
			}
			// A rename of the person shows on the board.
			first := "Augusta"
			if _, err := s.SavePerson(ctx, e.PersonID, models.RelationChanges{FirstName: &first}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			if card, _ := s.Card(ctx, act); card.RepName != "Augusta Lovelace" {
				t.Fatalf("card after the rename: %q", card.RepName)
			}
		})
	}
}

// The writes of relations and relationships keep their rules: a bad email refuses the whole
// contact (no person is left behind), a customer's name is its organisation's.
func TestRelationWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		count := func() (n int64) { s.DB.Model(&models.Relation{}).Count(&n); return }
		before := count()
		first, bad := "Zoe", "not an email"
		if _, err := s.SaveContact(ctx, nil, models.ContactChanges{FirstName: &first, Email: &bad}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("bad email: %v", err)
		}
		if n := count(); n != before {
			t.Fatalf("a refused contact left %d relations", n-before)
		}
		name := "Globex"
		id, err := s.SaveCommercialRelationship(ctx, models.TypeLead, nil, models.RelationshipChanges{Name: &name}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		rels, _ := s.Relationships(ctx)
		if len(rels) != 1 || rels[0].ID != id || rels[0].Name != "Globex" || rels[0].Type != models.TypeLead {
			t.Fatalf("lead: %+v", rels)
		}
		// Through the customers' own set a lead is not found; the identity never is.
		other := "Initech"
		if _, err := s.SaveCommercialRelationship(ctx, models.TypeCustomer, &id, models.RelationshipChanges{Name: &other}, models.Actor{}); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("lead changed as a customer: %v", err)
		}
		ident := models.IdentityRelationshipID
		if _, err := s.SaveRelationship(ctx, &ident, models.RelationshipChanges{Name: &other}, models.Actor{}); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("identity changed as a customer: %v", err)
		}
		if err := s.DeleteRecordOf(ctx, &models.Relation{}, nil, models.IdentityOrganizationID, "organisation", models.Actor{}); models.ErrorCode(err) != models.EConflict {
			t.Fatalf("deleting the tenant's organisation: %v", err)
		}
	})
}
