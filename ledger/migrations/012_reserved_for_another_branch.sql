-- Number 012 belongs to another branch of issue 14. This file only keeps
-- the sequence whole on branch referral, whose migration is 013: the
-- migrator refuses a gap. Merging the branch that owns 012 replaces it:
-- delete this file then (two files numbered 012 fail every migration,
-- loudly).
SELECT 1;
