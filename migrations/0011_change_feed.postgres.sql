-- Migration 11: the change feed. One row per committed change of any entity, appended in the
-- change's own transaction (models/feed.go): live boards and webhooks follow it by id. Rows
-- outlive what they describe (no foreign keys) and are pruned after a retention period.
CREATE TABLE changes (
  id bigserial PRIMARY KEY,
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  op text NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'phase_changed')),
  from_phase_id uuid,
  to_phase_id uuid,
  pipeline_id uuid,
  version integer NOT NULL DEFAULT 0,
  actor_id uuid,
  actor_role text NOT NULL DEFAULT '',
  at timestamptz NOT NULL
);
CREATE INDEX changes_at ON changes (at);
