-- Every uploader of a piece of evidence, not only the first. Evidence is
-- stored by its content (its ID derives from the SHA-256), so a second
-- upload of the same content answers with the first upload's row; the
-- second uploader has shown it holds the content, and may read and name it
-- as its own upload (EvidenceInReach). Since a change may name only
-- evidence its caller can read, the second uploader would otherwise be told
-- its own upload does not exist. Append-only, like evidence. Forward-only.

CREATE TABLE evidence_uploaders (
  evidence_id text NOT NULL REFERENCES evidence (id),
  -- subject is the uploader's sign-in subject (the token's "sub").
  subject     text NOT NULL CHECK (subject <> ''),
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (evidence_id, subject)
);

CREATE TRIGGER evidence_uploaders_append_only BEFORE UPDATE OR DELETE ON evidence_uploaders
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER evidence_uploaders_no_truncate BEFORE TRUNCATE ON evidence_uploaders
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

INSERT INTO evidence_uploaders (evidence_id, subject, uploaded_at)
SELECT id, uploaded_by->>'subject', uploaded_at FROM evidence
WHERE coalesce(uploaded_by->>'subject', '') <> '';
