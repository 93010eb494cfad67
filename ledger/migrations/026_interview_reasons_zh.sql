-- The Chinese of what the system writes on an interview: the reason of one
-- the escalation ladder proposed (its escalation's message) and the reason
-- of one it cancelled (its subject ended). A person's reason is in the
-- column beside it alone; the API answers in the caller's language where
-- both are there. Empty in rows written before it. Forward-only.

ALTER TABLE interviews
  ADD COLUMN reason_zh text NOT NULL DEFAULT '',
  ADD COLUMN cancel_reason_zh text NOT NULL DEFAULT '';
