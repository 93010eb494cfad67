-- The gauges a metrics scrape reads (ledger/metrics.go). Each is one short
-- statement over an index, or over a table that stays small (inspections,
-- interviews, escalations, calendar versions): a scrape runs them every few
-- seconds in every process.

-- name: OpenFindingsByStage :many
-- OpenFindingsByStage counts the findings not yet closed out, by stage
-- (findings_stage).
SELECT stage, count(*)::bigint AS findings
FROM findings
WHERE stage NOT IN ('CLOSED', 'WITHDRAWN')
GROUP BY stage;

-- name: OverdueCounts :one
-- OverdueCounts counts what is marked overdue: findings (findings_overdue),
-- inspections and interviews. A finished one is never marked (migration 007).
SELECT (SELECT count(*) FROM findings WHERE overdue)::bigint AS findings,
       (SELECT count(*) FROM inspections WHERE overdue)::bigint AS inspections,
       (SELECT count(*) FROM interviews WHERE overdue)::bigint AS interviews;

-- name: EscalationsByStep :many
-- EscalationsByStep counts the escalations ever recorded (the table is
-- append-only), by the subject's kind (finding, inspection, interview) and
-- ladder step.
SELECT split_part(subject, '/', 1)::text AS lifecycle, step, count(*)::bigint AS escalations
FROM escalations
GROUP BY 1, 2;

-- name: OutboxPending :one
-- OutboxPending is the webhook outbox's depth and the age of its oldest
-- pending delivery (webhook_outbox_pending).
SELECT count(*)::bigint AS pending,
       coalesce(extract(epoch FROM now() - min(queued_at)), 0)::double precision AS oldest_seconds
FROM webhook_outbox
WHERE status = 'PENDING';

-- name: CalendarYears :many
-- CalendarYears lists the years that have a loaded calendar version
-- (calendar_versions_year).
SELECT DISTINCT year FROM calendar_versions ORDER BY year;
