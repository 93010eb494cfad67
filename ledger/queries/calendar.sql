-- name: InsertCalendarVersion :one
INSERT INTO calendar_versions (year, request_id, doc_number, doc_date, notice, note, loaded_by)
VALUES (@year, @request_id, @doc_number, @doc_date, @notice, @note, @loaded_by)
ON CONFLICT (request_id) DO NOTHING
RETURNING id;

-- name: CalendarVersionOfRequest :one
SELECT * FROM calendar_versions WHERE request_id = @request_id;

-- name: GetCalendarVersion :one
SELECT * FROM calendar_versions WHERE id = @id;

-- name: SameJSON :one
-- SameJSON compares two JSON documents as jsonb values (key order and
-- spacing aside).
SELECT @a::jsonb = @b::jsonb AS same;

-- name: CalendarVersions :many
-- CalendarVersions lists versions, newest first; year 0 matches all.
SELECT * FROM calendar_versions
WHERE @year::integer = 0 OR year = @year
ORDER BY id DESC;

-- name: CurrentCalendarVersions :many
-- CurrentCalendarVersions reads the newest version of each year.
SELECT DISTINCT ON (year) * FROM calendar_versions
ORDER BY year, id DESC;

-- name: LockCalendarYear :exec
-- LockCalendarYear serialises the loads of one year's notice until the
-- transaction ends.
SELECT pg_advisory_xact_lock(hashtext('xuncha.calendar'), @year::integer);

-- name: CalendarYearVersion :one
-- CalendarYearVersion is the newest version of a year, 0 when none was
-- loaded.
SELECT coalesce(max(id), 0)::bigint AS version FROM calendar_versions WHERE year = @year;
