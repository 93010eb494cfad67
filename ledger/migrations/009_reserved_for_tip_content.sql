-- Number 009 belongs to sealing tip content at rest (branch lp). This file
-- only keeps the sequence whole on branch ext, whose migration is 011:
-- the migrator refuses a gap. Merging branch lp replaces it: delete this
-- file then (two files numbered 009 fail every migration, loudly).
SELECT 1;
