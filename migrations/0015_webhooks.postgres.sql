-- Migration 15: webhooks as Tribe has them (models/webhooks.go). A webhook follows the change
-- feed for one entity type from its cursor (the feed id up to which its changes are queued);
-- each change becomes one delivery, attempted with backoff until the receiver takes it or the
-- attempts run out (the webhook is then marked failing).
CREATE TABLE webhooks (
  id uuid PRIMARY KEY,
  entity_type text NOT NULL,
  webhook_url text NOT NULL,
  headers text NOT NULL DEFAULT '[]',
  secret text NOT NULL,
  cursor bigint NOT NULL,
  failing boolean NOT NULL DEFAULT false,
  failing_since timestamptz,
  created_by uuid,
  creation_date timestamptz NOT NULL
);
CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  webhook_id uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  change_id bigint NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_until timestamptz,
  last_status integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  delivered_at timestamptz,
  creation_date timestamptz NOT NULL,
  UNIQUE (webhook_id, change_id)
);
-- A lane's head: its oldest pending delivery.
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (webhook_id, change_id) WHERE status = 'pending';
