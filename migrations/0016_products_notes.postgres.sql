-- Migration 16: Tribe's product catalogue and an activity's notes (postgres).

-- Products (Tribe's Product): a line may name one (ProductLine.Product); the line keeps its own
-- price and description, so a later change of the catalogue leaves agreed lines as they were.
CREATE TABLE products (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  code text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  sales_price double precision NOT NULL DEFAULT 0,
  purchase_price double precision NOT NULL DEFAULT 0,
  is_vat_included boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX products_import_id ON products (import_id) WHERE import_id IS NOT NULL;

ALTER TABLE product_lines ADD COLUMN product_id uuid REFERENCES products(id);
CREATE INDEX product_lines_product ON product_lines (product_id);

-- Notes (Tribe's Notes of an activity): text an activity keeps, pinned ones first; deleted with
-- their activity. created_by is the employee who wrote it (none: the system or a client without
-- one).
CREATE TABLE notes (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  activity_id uuid NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
  content text NOT NULL,
  is_pinned boolean NOT NULL DEFAULT false,
  created_by uuid REFERENCES employees(id)
);
CREATE UNIQUE INDEX notes_import_id ON notes (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX notes_activity ON notes (activity_id, is_pinned, creation_date);
