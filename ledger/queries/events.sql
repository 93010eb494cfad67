-- name: PrepareEvent :one
-- PrepareEvent gives an event its ID and recording time and returns its
-- instants and JSON documents as PostgreSQL will store them (microseconds,
-- jsonb's normalised form), so that the hash is computed over exactly what
-- a later read returns.
SELECT nextval(pg_get_serial_sequence('events', 'id'))::bigint AS id,
       now()::timestamptz AS recorded_at,
       @occurred_at::timestamptz AS occurred_at,
       @actor::jsonb AS actor,
       @evidence::jsonb AS evidence,
       @data::jsonb AS data;

-- name: InsertEvent :execrows
-- InsertEvent appends a sealed event; a key already used is a no-op
-- (0 rows), which leaves the chain as it was.
INSERT INTO events (id, subject_type, subject_id, event_key, action, stage_before, stage_after,
                    actor, note, evidence, data, occurred_at, recorded_at, seq, prev_hash, hash, hash_alg)
VALUES (@id, @subject_type, @subject_id, @event_key, @action, @stage_before, @stage_after,
        @actor, @note, @evidence, @data, @occurred_at, @recorded_at, @seq, @prev_hash, @hash, @hash_alg)
ON CONFLICT (subject_type, subject_id, event_key) DO NOTHING;

-- name: ListEvents :many
SELECT * FROM events
WHERE subject_type = @subject_type AND subject_id = @subject_id
ORDER BY id;
