-- name: InsertExposure :execrows
INSERT INTO exposures (id, request_id, kind, subject, outlet, link, published_on, title, recorded_by)
VALUES (@id, @request_id, @kind, @subject, @outlet, @link, @published_on, @title, @recorded_by)
ON CONFLICT DO NOTHING;

-- name: ExposureOfRequest :one
SELECT * FROM exposures WHERE request_id = @request_id;

-- name: ListExposures :many
-- ListExposures lists a subject's exposures, oldest first; subject '' matches
-- all.
SELECT * FROM exposures
WHERE (@subject::text = '' OR subject = @subject)
ORDER BY created_at, id;
