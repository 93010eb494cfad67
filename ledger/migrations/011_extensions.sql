-- Extensions (延期) of a finding's rectification deadline (issue 14 item 1):
-- every request and its decision, kept with the finding, and the last day the
-- office set before any extension; the office's limits on extensions, kept
-- with its escalation ladder (NULL in rows set before: the built-in
-- defaults). Forward-only.

ALTER TABLE findings ADD COLUMN extensions jsonb;
ALTER TABLE findings ADD COLUMN original_due date;

ALTER TABLE escalation_policies ADD COLUMN extensions jsonb;
