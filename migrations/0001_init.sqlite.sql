-- Migration 1: the pipeline model (sqlite). Every table carries the seeds' standard fields.

CREATE TABLE pipelines (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  activity_type text NOT NULL
);
CREATE UNIQUE INDEX pipelines_import_id ON pipelines (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE phases (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  pipeline_id text NOT NULL REFERENCES pipelines(id),
  name text NOT NULL,
  code text NOT NULL DEFAULT '',
  localized_name text NOT NULL DEFAULT '',
  is_default boolean NOT NULL DEFAULT false,
  icon text NOT NULL DEFAULT '',
  action_name text NOT NULL DEFAULT '',
  localized_action_name text NOT NULL DEFAULT '',
  is_assignable boolean NOT NULL DEFAULT true,
  is_terminal boolean NOT NULL DEFAULT false,
  is_won boolean NOT NULL DEFAULT false,
  default_probability real NOT NULL DEFAULT 0,
  CHECK (NOT is_won OR is_terminal),
  CHECK (default_probability >= 0 AND default_probability <= 100)
);
CREATE UNIQUE INDEX phases_import_id ON phases (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE employees (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  first_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  email text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX employees_import_id ON employees (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE relationships (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  city text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX relationships_import_id ON relationships (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE contacts (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  first_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  email text NOT NULL DEFAULT '',
  relationship_id text REFERENCES relationships(id)
);
CREATE UNIQUE INDEX contacts_import_id ON contacts (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE sources (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  code text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sources_import_id ON sources (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE lost_reasons (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  code text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX lost_reasons_import_id ON lost_reasons (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE competitors (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL
);
CREATE UNIQUE INDEX competitors_import_id ON competitors (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE price_lists (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  currency text NOT NULL DEFAULT 'EUR'
);
CREATE UNIQUE INDEX price_lists_import_id ON price_lists (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE activities (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  subject text NOT NULL,
  number text NOT NULL,
  amount real NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT 'EUR',
  is_vat_included boolean NOT NULL DEFAULT false,
  discount_percentage real NOT NULL DEFAULT 0,
  relation_description text NOT NULL DEFAULT '',
  number_of_product_lines real NOT NULL DEFAULT 0,
  number_of_open_tasks real NOT NULL DEFAULT 0,
  number_of_planned_actions real NOT NULL DEFAULT 0,
  billing_amount real NOT NULL DEFAULT 0,
  billing_amount_in_currency real NOT NULL DEFAULT 0,
  amount_in_currency real NOT NULL DEFAULT 0,
  total_sales_excluding_vat real NOT NULL DEFAULT 0,
  total_sales_including_vat real NOT NULL DEFAULT 0,
  vat_amount real NOT NULL DEFAULT 0,
  total_discount_excluding_vat real NOT NULL DEFAULT 0,
  total_margin real NOT NULL DEFAULT 0,
  total_purchase_amount real NOT NULL DEFAULT 0,
  relationship_id text REFERENCES relationships(id),
  contact_id text REFERENCES contacts(id),
  pipeline_id text NOT NULL REFERENCES pipelines(id),
  phase_id text NOT NULL REFERENCES phases(id),
  source_id text REFERENCES sources(id),
  sales_representative_id text REFERENCES employees(id),
  lost_reason_id text REFERENCES lost_reasons(id),
  lost_to_competitor_id text REFERENCES competitors(id),
  price_list_id text REFERENCES price_lists(id),
  parent_activity_id text REFERENCES activities(id),
  -- sales opportunity fields (NULL for other activity types)
  probability real,
  weighted_amount real,
  estimated_amount real,
  expected_order_date date,
  -- when the activity entered its current phase (days in phase on the board)
  phase_entered_at timestamp NOT NULL,
  -- bumped on every write; the ETag and the board's stale-edit check
  version integer NOT NULL DEFAULT 1,
  CHECK (probability IS NULL OR (probability >= 0 AND probability <= 100))
);
CREATE UNIQUE INDEX activities_import_id ON activities (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE product_lines (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  activity_id text NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
  description text NOT NULL DEFAULT '',
  quantity real NOT NULL DEFAULT 1,
  price real NOT NULL DEFAULT 0,
  amount real NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX product_lines_import_id ON product_lines (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE involved (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  activity_id text NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
  employee_id text REFERENCES employees(id),
  contact_id text REFERENCES contacts(id),
  role text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX involved_import_id ON involved (import_id) WHERE import_id IS NOT NULL;

CREATE TABLE time_registrations (
  id text PRIMARY KEY,
  type text NOT NULL,
  sort_index real NOT NULL DEFAULT 0,
  creation_date timestamp NOT NULL,
  last_mutation_date timestamp NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  activity_id text NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
  employee_id text REFERENCES employees(id),
  date date NOT NULL,
  hours real NOT NULL DEFAULT 0,
  description text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX time_registrations_import_id ON time_registrations (import_id) WHERE import_id IS NOT NULL;

-- Every phase change of an activity: who, when, from, to (time in phase, conversion).
CREATE TABLE phase_changes (
  id text PRIMARY KEY,
  activity_id text NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
  from_phase_id text REFERENCES phases(id),
  to_phase_id text NOT NULL REFERENCES phases(id),
  moved_by text REFERENCES employees(id),
  moved_at timestamp NOT NULL
);
CREATE INDEX phase_changes_activity ON phase_changes (activity_id, moved_at);
CREATE INDEX phase_changes_to_phase ON phase_changes (to_phase_id);

-- Activity numbers (2026-00001) per activity type and year; incremented under a row lock.
CREATE TABLE number_sequences (
  activity_type text NOT NULL,
  year integer NOT NULL,
  last_value integer NOT NULL,
  PRIMARY KEY (activity_type, year)
);

-- A small key/value store with expiry, shared by all instances (CSRF tokens, later sessions).
CREATE TABLE kv_store (
  k text PRIMARY KEY,
  v blob NOT NULL,
  expires_at timestamp
);

CREATE INDEX phases_pipeline ON phases (pipeline_id, sort_index);
CREATE INDEX phases_type ON phases (type, sort_index);
CREATE UNIQUE INDEX activities_number ON activities (type, number);
CREATE INDEX activities_column ON activities (pipeline_id, phase_id, sort_index, id);
CREATE INDEX activities_expected_order_date ON activities (expected_order_date);
CREATE INDEX activities_sales_rep ON activities (sales_representative_id);
CREATE INDEX activities_relationship ON activities (relationship_id);
CREATE INDEX product_lines_activity ON product_lines (activity_id);
CREATE INDEX involved_activity ON involved (activity_id);
CREATE INDEX time_registrations_activity ON time_registrations (activity_id);
CREATE INDEX contacts_relationship ON contacts (relationship_id);
