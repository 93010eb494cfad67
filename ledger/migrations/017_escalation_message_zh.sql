-- An escalation's message in Chinese, beside the English one (issue 13
-- item 4): the workflow writes both as it takes the step, and the API
-- answers in the caller's language. Empty in rows written before it, which
-- then answer in English in both. Forward-only.

ALTER TABLE escalations ADD COLUMN message_zh text NOT NULL DEFAULT '';
