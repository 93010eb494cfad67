-- Webhooks: secrets sealed at rest, and the delivery outbox. Forward-only.

-- A webhook's signing secret is kept sealed (AES-256-GCM with the server key,
-- XUNCHA_TIP_KEY, the webhook's ID bound as additional data): secret_sealed.
-- A migration cannot encrypt, so the plaintext column stays, nullable, for
-- rows written before this migration (and by an older binary during a
-- rolling upgrade); every server and worker start seals such rows and empties
-- the column (ledger.Store.SealWebhookSecrets), idempotently.
ALTER TABLE webhooks ADD COLUMN secret_sealed bytea;
ALTER TABLE webhooks ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_kept
  CHECK (secret IS NOT NULL OR secret_sealed IS NOT NULL);

-- The outbox: one row per event per subscriber, written by a lifecycle's
-- short ledger activity and delivered by its own WebhookDeliveryWorkflow, so
-- that a lifecycle ends when its stage says so whatever the receiver does.
-- The attempts stay in webhook_deliveries.
CREATE TABLE webhook_outbox (
  -- delivery_id is the X-Xuncha-Delivery header, stable across attempts.
  delivery_id text PRIMARY KEY,
  webhook_id  text NOT NULL REFERENCES webhooks (id),
  event_type  text NOT NULL,
  payload     jsonb NOT NULL,
  -- PENDING until the delivery workflow ends: DELIVERED (2xx), SKIPPED (the
  -- webhook was deleted) or FAILED (refused address, or retries given up).
  status      text NOT NULL DEFAULT 'PENDING'
              CHECK (status IN ('PENDING', 'DELIVERED', 'SKIPPED', 'FAILED')),
  error       text NOT NULL DEFAULT '',
  queued_at   timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CHECK ((status = 'PENDING') = (finished_at IS NULL))
);

CREATE INDEX webhook_outbox_pending ON webhook_outbox (queued_at, delivery_id) WHERE status = 'PENDING';
CREATE INDEX webhook_outbox_webhook ON webhook_outbox (webhook_id, queued_at);

CREATE TRIGGER webhook_outbox_no_delete BEFORE DELETE ON webhook_outbox
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER webhook_outbox_no_truncate BEFORE TRUNCATE ON webhook_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
