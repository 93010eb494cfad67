-- Queued webhook deliveries are sent by the workers' outbox dispatcher
-- (activities.Dispatcher), not by a WebhookDeliveryWorkflow each (issue 12
-- item 1: at the midnight herd, a workflow per delivery cost the cluster a
-- workflow start, three workflow tasks and two activity tasks for every
-- escalation, on top of the escalation's one workflow task). Forward-only.
--
-- next_attempt_at is when the dispatcher may next try a delivery; a claim
-- moves it a lease ahead (so a dispatcher that dies mid-delivery leaves the
-- row to another once the lease ends), a failed attempt moves it by the
-- backoff. NULL means a WebhookDeliveryWorkflow owns the delivery: rows
-- queued before this migration, or by a binary from before it during a
-- rolling upgrade; the dispatcher leaves them alone. attempts counts the
-- dispatcher's claims.
ALTER TABLE webhook_outbox
  ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  ADD COLUMN next_attempt_at timestamptz;

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, delivery_id)
  WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL;
