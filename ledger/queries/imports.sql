-- The problem list's import in bulk (ledger/imports.go): every row of a
-- workbook written in one transaction, a statement per step whatever the
-- number of rows.

-- name: FindingsRecordedOf :many
-- FindingsRecordedOf reads what an import needs of the findings among ids
-- that the ledger already holds: a row imported before is not imported
-- twice.
SELECT id, request_id, ledger_number, created_at FROM findings WHERE id = ANY(@ids::text[]);

-- name: ReserveLedgerNumbers :one
-- ReserveLedgerNumbers takes the next n numbers of a year and unit at once
-- and returns the last of them.
INSERT INTO ledger_sequences (year, unit_code, last) VALUES (@year, @unit_code, @n::integer)
ON CONFLICT (year, unit_code) DO UPDATE SET last = ledger_sequences.last + @n::integer
RETURNING last;

-- name: InsertImportedFindings :execrows
-- InsertImportedFindings writes the rows of an import, one array element
-- per finding, numbered; a row whose ID is taken meanwhile is left out (the
-- count says so). evidence_ids are JSON arrays, one per finding.
INSERT INTO findings (id, workflow_id, inspection_id, request_id, ledger_number, unit_code, unit_name, title, description,
                      kind, severity, important, content_area, evidence_ids, rectification_opinion, stage, found_by,
                      created_at, updated_at, version)
SELECT u.id, u.workflow_id, @inspection_id::text, u.request_id, u.ledger_number, @unit_code::text, @unit_name::text, u.title,
       u.description, u.kind, u.severity, u.important, u.content_area,
       ARRAY(SELECT jsonb_array_elements_text(u.evidence_ids::jsonb)), u.rectification_opinion, @stage::text, @found_by::jsonb,
       u.created_at, u.created_at, @version::integer
FROM (SELECT unnest(@ids::text[]) AS id, unnest(@workflow_ids::text[]) AS workflow_id, unnest(@request_ids::text[]) AS request_id,
             unnest(@ledger_numbers::text[]) AS ledger_number, unnest(@titles::text[]) AS title,
             unnest(@descriptions::text[]) AS description, unnest(@kinds::text[]) AS kind,
             unnest(@severities::text[]) AS severity, unnest(@importants::boolean[]) AS important,
             unnest(@content_areas::integer[]) AS content_area, unnest(@evidence_ids::text[]) AS evidence_ids,
             unnest(@rectification_opinions::text[]) AS rectification_opinion,
             unnest(@created_ats::timestamptz[]) AS created_at) u
ON CONFLICT (id) DO NOTHING;

-- name: PrepareEvents :many
-- PrepareEvents is PrepareEvent for many events: each its ID, the
-- transaction's recording time and its instant and JSON documents as
-- PostgreSQL stores them, in the order given (n counts from 1).
SELECT nextval(pg_get_serial_sequence('events', 'id'))::bigint AS id,
       now()::timestamptz AS recorded_at,
       u.occurred_at::timestamptz AS occurred_at,
       u.actor::jsonb AS actor,
       u.evidence::jsonb AS evidence,
       u.data::jsonb AS data,
       u.n::bigint AS n
FROM (SELECT unnest(@occurred_ats::timestamptz[]) AS occurred_at, unnest(@actors::text[]) AS actor,
             unnest(@evidence::text[]) AS evidence, unnest(@data::text[]) AS data,
             generate_subscripts(@actors::text[], 1) AS n) u
ORDER BY u.n;

-- name: InsertEvents :execrows
-- InsertEvents appends sealed events, one array element per event; a key
-- already used is left out (the count says so).
INSERT INTO events (id, subject_type, subject_id, event_key, action, stage_before, stage_after,
                    actor, note, evidence, data, occurred_at, recorded_at, seq, prev_hash, hash, hash_alg)
SELECT u.id, u.subject_type, u.subject_id, u.event_key, u.action, u.stage_before, u.stage_after,
       u.actor::jsonb, u.note, u.evidence::jsonb, u.data::jsonb, u.occurred_at, u.recorded_at, u.seq, u.prev_hash, u.hash,
       @hash_alg::text
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@subject_types::text[]) AS subject_type,
             unnest(@subject_ids::text[]) AS subject_id, unnest(@event_keys::text[]) AS event_key,
             unnest(@actions::text[]) AS action, unnest(@stages_before::text[]) AS stage_before,
             unnest(@stages_after::text[]) AS stage_after, unnest(@actors::text[]) AS actor, unnest(@notes::text[]) AS note,
             unnest(@evidence::text[]) AS evidence, unnest(@data::text[]) AS data,
             unnest(@occurred_ats::timestamptz[]) AS occurred_at, unnest(@recorded_ats::timestamptz[]) AS recorded_at,
             unnest(@seqs::bigint[]) AS seq, unnest(@prev_hashes::bytea[]) AS prev_hash, unnest(@hashes::bytea[]) AS hash) u
ON CONFLICT (subject_type, subject_id, event_key) DO NOTHING;

-- name: FindingsByID :many
-- FindingsByID reads the findings among ids, in no particular order.
SELECT * FROM findings WHERE id = ANY(@ids::text[]);
