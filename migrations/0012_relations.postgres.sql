-- Migration 12: Tribe's relation model (postgres). A relation is the person or organisation
-- itself (Relation_Person, Relation_Organization: one table, told apart by type); the tables
-- that were Phaseboard's people and customers hold relationships, the role a relation plays:
-- employees (Relationship_Person_Contact_Employee: a person in the tenant's own organisation),
-- contacts (Relationship_Person_Contact_Standard: a person at an organisation), relationships
-- (customers, leads and the tenant's identity) and competitors. Names, email addresses and phone
-- numbers live on the relation only; the relationship tables lose their copies.
--
-- Today's rows become relations that keep their relationship's ID (a person or organisation
-- created later gets its own), so the migration needs no key generator on either database.

CREATE TABLE relations (
  id uuid PRIMARY KEY,
  type text NOT NULL CHECK (type IN ('Relation.Person', 'Relation.Organization')),
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL DEFAULT '',
  first_name text NOT NULL DEFAULT '',
  middle_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  email_address text NOT NULL DEFAULT '',
  phone_number text NOT NULL DEFAULT '',
  mobile_phone_number text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX relations_import_id ON relations (import_id) WHERE import_id IS NOT NULL;

-- The tenant's own organisation (fixed key: models.IdentityOrganizationID); admins rename it.
INSERT INTO relations (id, type, creation_date, last_mutation_date, name)
  VALUES ('00000000-0000-4000-8000-00000000000a', 'Relation.Organization', now(), now(), 'Our organisation');

INSERT INTO relations (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, first_name, last_name, email_address)
  SELECT id, 'Relation.Person', sort_index, creation_date, last_mutation_date, is_active, is_closed, first_name, last_name, email FROM employees;
INSERT INTO relations (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, first_name, last_name, email_address)
  SELECT id, 'Relation.Person', sort_index, creation_date, last_mutation_date, is_active, is_closed, first_name, last_name, email FROM contacts;
INSERT INTO relations (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, name)
  SELECT id, 'Relation.Organization', sort_index, creation_date, last_mutation_date, is_active, is_closed, name FROM relationships;
INSERT INTO relations (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, name)
  SELECT id, 'Relation.Organization', sort_index, creation_date, last_mutation_date, is_active, is_closed, name FROM competitors;

-- Employees: the person, and the organisation they work for (the tenant's own).
ALTER TABLE employees ADD COLUMN person_id uuid REFERENCES relations(id);
ALTER TABLE employees ADD COLUMN relation_id uuid REFERENCES relations(id);
UPDATE employees SET person_id = id, relation_id = '00000000-0000-4000-8000-00000000000a';
ALTER TABLE employees ALTER COLUMN person_id SET NOT NULL;
ALTER TABLE employees DROP COLUMN first_name, DROP COLUMN last_name, DROP COLUMN email;

-- Every API client acts as an employee (GetCurrentEmployee): one without gets its own, named
-- after it, as CreateAPIClient does now (the client's ID is its person's and employee's).
INSERT INTO relations (id, type, creation_date, last_mutation_date, last_name)
  SELECT id, 'Relation.Person', creation_date, creation_date, name FROM api_clients WHERE employee_id IS NULL;
INSERT INTO employees (id, type, creation_date, last_mutation_date, person_id, relation_id)
  SELECT id, 'Relation.Person.Contact.Employee', creation_date, creation_date, id, '00000000-0000-4000-8000-00000000000a'
  FROM api_clients WHERE employee_id IS NULL;
UPDATE api_clients SET employee_id = id WHERE employee_id IS NULL;
ALTER TABLE api_clients ALTER COLUMN employee_id SET NOT NULL;

-- Contacts: the person, and the organisation of the customer they belong to (relation_id follows
-- relationship_id; models.SaveContact keeps the two together).
ALTER TABLE contacts ADD COLUMN person_id uuid REFERENCES relations(id);
ALTER TABLE contacts ADD COLUMN relation_id uuid REFERENCES relations(id);
UPDATE contacts SET person_id = id, relation_id = relationship_id;
ALTER TABLE contacts ALTER COLUMN person_id SET NOT NULL;
ALTER TABLE contacts DROP COLUMN first_name, DROP COLUMN last_name, DROP COLUMN email;

-- Customers (every relationship so far) and competitors: their organisation.
ALTER TABLE relationships ADD COLUMN organization_id uuid REFERENCES relations(id);
UPDATE relationships SET organization_id = id, type = 'Relationship.Organization.CommercialRelationship.Customer';
ALTER TABLE relationships ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE relationships DROP COLUMN name;

ALTER TABLE competitors ADD COLUMN organization_id uuid REFERENCES relations(id);
UPDATE competitors SET organization_id = id;
ALTER TABLE competitors ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE competitors DROP COLUMN name;

-- The tenant's identity relationship (fixed key: models.IdentityRelationshipID).
INSERT INTO relationships (id, type, creation_date, last_mutation_date, organization_id)
  VALUES ('00000000-0000-4000-8000-00000000000b', 'Relationship.Organization.Identity', now(), now(), '00000000-0000-4000-8000-00000000000a');

CREATE INDEX employees_person ON employees (person_id);
CREATE INDEX contacts_person ON contacts (person_id);
CREATE INDEX relationships_organization ON relationships (organization_id);
CREATE INDEX competitors_organization ON competitors (organization_id);
