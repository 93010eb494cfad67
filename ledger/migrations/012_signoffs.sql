-- Sign-off before close-out (销号, issue 14 item 3): every round of sign-off a
-- finding went through, with each signature or refusal, kept with the
-- finding; the office's rules of who signs which findings off, kept with its
-- escalation ladder (NULL in rows set before: no sign-off, the office's
-- verification closes). Forward-only.

ALTER TABLE findings ADD COLUMN signoffs jsonb;

ALTER TABLE escalation_policies ADD COLUMN signoff_rules jsonb;
