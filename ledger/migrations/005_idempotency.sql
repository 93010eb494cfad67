-- Idempotency keys (DESIGN §6). A request_id is scoped to its method and its
-- target (the resource the request changes, or the collection it creates in);
-- the first request's fingerprint, a SHA-256 of its canonical body, is kept so
-- that the same key with a different body is refused instead of answered with
-- the first request's result.
CREATE TABLE idempotency_keys (
  method      text NOT NULL,
  target      text NOT NULL,
  request_id  text NOT NULL,
  fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (method, target, request_id)
);

-- A tip's request_id is scoped to its inspection, as every child resource's is:
-- two teams may both send request_id "t-1" for their own inspections.
ALTER TABLE tips DROP CONSTRAINT tips_request_id_key;
ALTER TABLE tips ADD CONSTRAINT tips_inspection_request_key UNIQUE (inspection_id, request_id);
