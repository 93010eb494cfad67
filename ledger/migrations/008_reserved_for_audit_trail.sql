-- Number 008 belongs to the hash-chained audit trail (branch audit). This
-- file only keeps the sequence whole on branch stats, whose migration is
-- 010: the migrator refuses a gap. Merging the audit trail replaces it:
-- delete this file then (two files numbered 008 fail every migration,
-- loudly).
SELECT 1;
