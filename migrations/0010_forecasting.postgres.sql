-- Migration 10: forecasting a manager can run the quarter on (postgres): exchange rates and the
-- reporting currency, sales targets and their categories, commit overrides, the change history
-- of opportunities, forecast snapshots, and the aggregates the Store maintains in the
-- transaction of every write (models/rollups.go). The maintained tables start empty; the first
-- Store.Migrate after this one fills them from the activities and their move history
-- (aggregates_built), as models.Store.RebuildAggregates does after a bulk load.

CREATE TABLE forecast_settings (
  id integer PRIMARY KEY CHECK (id = 1),
  -- every total is converted into this currency (exchange_rates with this base)
  reporting_currency text NOT NULL DEFAULT 'EUR' CHECK (reporting_currency ~ '^[A-Z]{3}$'),
  aggregates_built boolean NOT NULL DEFAULT false
);
INSERT INTO forecast_settings (id) VALUES (1);

-- One unit of currency is worth rate units of base on day and after, until the next day given.
CREATE TABLE exchange_rates (
  base text NOT NULL,
  currency text NOT NULL,
  day date NOT NULL,
  rate double precision NOT NULL CHECK (rate > 0),
  last_mutation_date timestamptz NOT NULL,
  PRIMARY KEY (base, currency, day)
);

-- Tribe's Datastore.SalesCategory: what a sales target may be about.
CREATE TABLE sales_categories (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  name text NOT NULL,
  code text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sales_categories_import_id ON sales_categories (import_id) WHERE import_id IS NOT NULL;

-- Tribe's SalesTarget: an amount (in the reporting currency) for an employee (NULL: the whole
-- team), optionally of a sales category, over a month or a quarter [start_date, end_date].
CREATE TABLE sales_targets (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  sort_index double precision NOT NULL DEFAULT 0,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_closed boolean NOT NULL DEFAULT false,
  import_id text,
  amount double precision NOT NULL CHECK (amount >= 0),
  person_id uuid REFERENCES employees(id),
  sales_category_id uuid REFERENCES sales_categories(id),
  start_date date NOT NULL,
  end_date date NOT NULL,
  CHECK (end_date >= start_date)
);
CREATE UNIQUE INDEX sales_targets_import_id ON sales_targets (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX sales_targets_period ON sales_targets (start_date, end_date);

-- A manager's commit for a rep and a period, with a note. Rows are never changed or deleted:
-- the latest (seq) is the one that counts, the others are its history.
CREATE TABLE commit_overrides (
  seq bigserial PRIMARY KEY,
  rep_id uuid NOT NULL REFERENCES employees(id),
  period_start date NOT NULL,
  period_end date NOT NULL,
  amount double precision NOT NULL CHECK (amount >= 0),
  note text NOT NULL DEFAULT '',
  author text NOT NULL DEFAULT '',
  created_by uuid REFERENCES employees(id),
  created_at timestamptz NOT NULL
);
CREATE INDEX commit_overrides_period ON commit_overrides (period_start, rep_id, seq);

-- The change history of opportunities: their forecast-relevant state after each write that
-- changed it (created, amounts, dates, phase, owner, currency, category; deleted). Never
-- deleted with the opportunity. Opportunities that existed before this migration get one row
-- at their creation with their values of then (the first Store.Migrate adds it).
CREATE TABLE deal_history (
  seq bigserial PRIMARY KEY,
  activity_id uuid NOT NULL,
  at timestamptz NOT NULL,
  op text NOT NULL CHECK (op IN ('created', 'updated', 'deleted')),
  changed_by uuid,
  pipeline_id uuid NOT NULL,
  phase_id uuid NOT NULL,
  sales_representative_id uuid,
  currency text NOT NULL,
  estimated_amount double precision NOT NULL,
  weighted_amount double precision NOT NULL,
  probability double precision NOT NULL,
  expected_order_date date,
  forecast_category text,
  is_closed boolean NOT NULL,
  is_won boolean NOT NULL
);
CREATE INDEX deal_history_activity ON deal_history (activity_id, at, seq);
CREATE INDEX deal_history_at ON deal_history (at);

-- Forecast snapshots: the forecast rollups as they were, with the effective forecast category.
CREATE TABLE forecast_snapshots (
  id uuid PRIMARY KEY,
  taken_at timestamptz NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('weekly', 'manual')),
  author text NOT NULL DEFAULT ''
);
CREATE INDEX forecast_snapshots_taken ON forecast_snapshots (trigger, taken_at);
CREATE TABLE forecast_snapshot_rows (
  snapshot_id uuid NOT NULL REFERENCES forecast_snapshots(id) ON DELETE CASCADE,
  pipeline_id uuid NOT NULL,
  phase_id uuid NOT NULL,
  sales_representative_id uuid,
  forecast_category text,
  currency text NOT NULL,
  is_closed boolean NOT NULL,
  day date,
  n bigint NOT NULL,
  amount numeric NOT NULL,
  estimated_amount numeric NOT NULL,
  weighted_amount numeric NOT NULL
);
CREATE INDEX forecast_snapshot_rows_snapshot ON forecast_snapshot_rows (snapshot_id);

-- Maintained aggregates (models/rollups.go), kept in the transaction of every write.
-- Sums are numeric so that adding and taking back the same amount leaves exactly what was.
--
-- forecast_rollups: the opportunities per phase, owner, own forecast category, currency and
-- day (an open one's expected order date, a closed one's closing day), counted and summed.
-- The columns are named as in activities so that the OData $apply reads it in their place.
CREATE TABLE forecast_rollups (
  pipeline_id uuid NOT NULL,
  phase_id uuid NOT NULL,
  sales_representative_id uuid,
  forecast_category text,
  currency text NOT NULL,
  is_closed boolean NOT NULL,
  day date,
  n bigint NOT NULL,
  amount numeric NOT NULL,
  estimated_amount numeric NOT NULL,
  weighted_amount numeric NOT NULL
);
CREATE UNIQUE INDEX forecast_rollups_key ON forecast_rollups
  (phase_id, sales_representative_id, forecast_category, currency, is_closed, day) NULLS NOT DISTINCT;
CREATE INDEX forecast_rollups_pipeline ON forecast_rollups (pipeline_id, is_closed, day);

-- phase_visits: each phase an activity has been in, with its completed stays there.
CREATE TABLE phase_visits (
  activity_id uuid NOT NULL,
  phase_id uuid NOT NULL,
  stays bigint NOT NULL,
  days double precision NOT NULL,
  PRIMARY KEY (activity_id, phase_id)
);
-- phase_stats: per phase and current owner, what pipeline health reads from the move history.
CREATE TABLE phase_stats (
  phase_id uuid NOT NULL,
  sales_representative_id uuid,
  entered bigint NOT NULL,
  won bigint NOT NULL,
  stays bigint NOT NULL,
  days numeric NOT NULL
);
CREATE UNIQUE INDEX phase_stats_key ON phase_stats (phase_id, sales_representative_id) NULLS NOT DISTINCT;
-- open_ages: the open activities per phase, owner and day they entered it (rotting counts).
CREATE TABLE open_ages (
  phase_id uuid NOT NULL,
  sales_representative_id uuid,
  day date NOT NULL,
  n bigint NOT NULL
);
CREATE UNIQUE INDEX open_ages_key ON open_ages (phase_id, sales_representative_id, day) NULLS NOT DISTINCT;

-- The order of an activity's moves, also when two share a timestamp.
ALTER TABLE phase_changes ADD COLUMN seq bigserial;
-- Open activities by phase and time in it: the exact count of a rotting boundary's day, and the
-- longest-idle list.
CREATE INDEX activities_open_age ON activities (phase_id, phase_entered_at, id) WHERE NOT is_closed;
