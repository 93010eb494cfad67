-- What each uploader said of its own upload: the file's name, who captured
-- it and when. Evidence is stored by its content, so a later upload of the
-- same bytes keeps the first upload's row; a later uploader who reaches the
-- evidence only as its uploader is shown its own upload (api/evidence.go,
-- view), which until now it saw with these left blank. Rows from before
-- this migration keep them blank (captured_at NULL). Constant defaults: no
-- table rewrite. Forward-only.

-- ALTER TABLE takes the table's strongest lock for a moment; behind a long
-- reader it would hold up every upload while it waits: give up instead,
-- and let `xuncha migrate` be run again.
SET LOCAL lock_timeout = '5s';

ALTER TABLE evidence_uploaders
  ADD COLUMN file_name   text NOT NULL DEFAULT '',
  ADD COLUMN captured_at timestamptz,
  ADD COLUMN captured_by text NOT NULL DEFAULT '';
