-- Migration 2: forecast categories and the indexes of the forecast queries (postgres).

-- A phase's default forecast category; an opportunity's own category (NULL) follows its phase.
-- New phases get theirs from models.Phase.DefaultForecastCategory; this backfill applies the
-- same rule to the phases that exist already.
ALTER TABLE phases ADD COLUMN forecast_category text NOT NULL DEFAULT 'Pipeline'
  CHECK (forecast_category IN ('Pipeline', 'BestCase', 'Commit', 'Closed', 'Omitted'));
UPDATE phases SET forecast_category = CASE
  WHEN is_terminal AND is_won THEN 'Closed'
  WHEN is_terminal THEN 'Omitted'
  WHEN default_probability >= 60 THEN 'Commit'
  WHEN default_probability >= 30 THEN 'BestCase'
  ELSE 'Pipeline' END;

ALTER TABLE activities ADD COLUMN forecast_category text
  CHECK (forecast_category IS NULL OR forecast_category IN ('Pipeline', 'BestCase', 'Commit', 'Closed', 'Omitted'));

-- Open opportunities by expected order date (periods, overdue, no date, the forecast board) and
-- closed ones by the time they entered their terminal phase (won and lost in a period). The
-- open index covers the forecast board's month totals (an index-only scan: a month's figures
-- after a drag read the index alone).
CREATE INDEX activities_open_expected ON activities (expected_order_date, pipeline_id)
  INCLUDE (type, sales_representative_id, estimated_amount, weighted_amount) WHERE NOT is_closed;
CREATE INDEX activities_closed_entered ON activities (phase_entered_at, pipeline_id) WHERE is_closed;
