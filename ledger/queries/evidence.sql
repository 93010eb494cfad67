-- name: InsertEvidence :execrows
-- InsertEvidence records metadata; a NULL uploaded_at means now.
INSERT INTO evidence (id, kind, sha256, size, location, file_name, content_type, captured_at, captured_by,
                      uploaded_by, uploaded_at)
VALUES (@id, @kind, @sha256, @size, @location, @file_name, @content_type, @captured_at, @captured_by,
        @uploaded_by, COALESCE(sqlc.narg(uploaded_at)::timestamptz, now()))
ON CONFLICT (id) DO NOTHING;

-- name: GetEvidence :one
SELECT * FROM evidence WHERE id = @id;

-- name: EvidenceOf :many
-- EvidenceOf reads those of ids that exist, in no particular order.
SELECT * FROM evidence WHERE id = ANY(@ids::text[]);

-- name: MissingEvidence :many
-- MissingEvidence returns those of ids that no evidence has, in the order of
-- ids (repeated as often as they are).
SELECT wanted.id::text AS id FROM unnest(@ids::text[]) WITH ORDINALITY AS wanted (id, n)
WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = wanted.id)
ORDER BY n;
