-- The invitation's answer limit in the office's escalation policy (issue 15
-- item 3): how many working days a person drawn for a line-up has to accept
-- or decline. NULL in rows set before it: the default, 3 working days.
-- Forward-only.

ALTER TABLE escalation_policies ADD COLUMN invitation_answer_working_days integer
  CHECK (invitation_answer_working_days BETWEEN 1 AND 30);
