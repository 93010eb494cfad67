-- name: InsertExposure :execrows
INSERT INTO exposures (id, request_id, kind, subject, outlet, link, published_on, title, recorded_by)
VALUES (@id, @request_id, @kind, @subject, @outlet, @link, @published_on, @title, @recorded_by)
ON CONFLICT DO NOTHING;

-- name: ExposureOfRequest :one
SELECT * FROM exposures WHERE request_id = @request_id;

-- name: ListExposures :many
-- ListExposures reads a page of a subject's exposures, oldest first
-- (created_at, then ID); subject '' matches all; after_at and after_id are
-- the previous page's last row, NULL on the first page.
SELECT * FROM exposures
WHERE (@subject::text = '' OR subject = @subject)
  AND ((NOT @by_unit::boolean AND NOT @by_team::boolean)
       OR subject IN (
         SELECT 'inspection/' || i.id FROM inspections i
         WHERE (NOT @by_unit::boolean OR i.unit_code = ANY(@units::text[]))
           AND (NOT @by_team::boolean OR i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text)))
         UNION ALL
         SELECT 'finding/' || f.id FROM findings f JOIN inspections i ON i.id = f.inspection_id
         WHERE (NOT @by_unit::boolean OR f.unit_code = ANY(@units::text[]))
           AND (NOT @by_team::boolean OR i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text)))))
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (created_at, id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY created_at, id
LIMIT @row_limit::bigint;
