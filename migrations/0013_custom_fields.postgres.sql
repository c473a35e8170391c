-- Migration 13: custom fields. An admin defines fields per entity type (custom_fields); their
-- values live in custom_field_values, one row per entity and field, in the column of the
-- field's kind. Defining or removing a field is a row here, never a schema change, so it needs
-- no migration and no restart: every instance reloads the definitions when
-- custom_field_version.version moves (models/customfields.go).
CREATE TABLE custom_fields (
  id uuid PRIMARY KEY,
  entity_type text NOT NULL,          -- the OData type it belongs to: Activity.SalesOpportunity
  label text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('text', 'number', 'date', 'boolean', 'choice', 'link')),
  choices text NOT NULL DEFAULT '[]', -- JSON array of the allowed values of a choice list
  link_target text NOT NULL DEFAULT '', -- the entity set a link points into
  on_card boolean NOT NULL DEFAULT false,
  in_export boolean NOT NULL DEFAULT false,
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  CHECK ((kind = 'link') = (link_target <> ''))
);
CREATE INDEX custom_fields_entity_type ON custom_fields (entity_type, sort_index);

CREATE TABLE custom_field_values (
  entity_id uuid NOT NULL,
  field_id uuid NOT NULL REFERENCES custom_fields(id) ON DELETE CASCADE,
  text_value text,
  number_value double precision,
  date_value date,
  bool_value boolean,
  link_value uuid,
  PRIMARY KEY (entity_id, field_id)
);
-- $filter and $orderby on a field read its values in field order.
CREATE INDEX custom_field_values_text ON custom_field_values (field_id, text_value);
CREATE INDEX custom_field_values_number ON custom_field_values (field_id, number_value);
CREATE INDEX custom_field_values_date ON custom_field_values (field_id, date_value);
CREATE INDEX custom_field_values_link ON custom_field_values (field_id, link_value);

-- Bumped in the transaction of every definition change; instances compare it to the version
-- they loaded.
CREATE TABLE custom_field_version (
  id integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);
INSERT INTO custom_field_version (id, version) VALUES (1, 0);
