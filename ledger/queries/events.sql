-- name: BeginEvent :one
-- BeginEvent locks the head of the event's chain until the transaction
-- ends, starting the chain at seq 0 when it has none (writers of one chain
-- take turns, writers of other chains do not wait), and gives the event its
-- ID and recording time, returning its instants and JSON documents as
-- PostgreSQL will store them (microseconds, jsonb's normalised form), so
-- that the hash is computed over exactly what a later read returns. One
-- round trip: each change of a lifecycle writes an event inside its
-- workflow task.
WITH head AS (
  INSERT INTO audit_chain_heads (subject_type, subject_id, seq, hash)
  VALUES (@subject_type, @subject_id, 0, ''::bytea)
  ON CONFLICT (subject_type, subject_id) DO UPDATE SET seq = audit_chain_heads.seq
  RETURNING seq, hash
)
SELECT head.seq, head.hash,
       nextval(pg_get_serial_sequence('events', 'id'))::bigint AS id,
       now()::timestamptz AS recorded_at,
       @occurred_at::timestamptz AS occurred_at,
       @actor::jsonb AS actor,
       @evidence::jsonb AS evidence,
       @data::jsonb AS data
FROM head;

-- name: InsertEvent :execrows
-- InsertEvent appends a sealed event and moves its chain's head to it; a
-- key already used is a no-op (0 rows), which leaves the chain as it was.
-- request_fingerprint is outside the hash (migration 028).
WITH inserted AS (
  INSERT INTO events (id, subject_type, subject_id, event_key, action, stage_before, stage_after,
                      actor, note, evidence, data, occurred_at, recorded_at, seq, prev_hash, hash, hash_alg,
                      request_fingerprint)
  VALUES (@id, @subject_type, @subject_id, @event_key, @action, @stage_before, @stage_after,
          @actor, @note, @evidence, @data, @occurred_at, @recorded_at, @seq, @prev_hash, @hash, @hash_alg,
          sqlc.narg(request_fingerprint))
  ON CONFLICT (subject_type, subject_id, event_key) DO NOTHING
  RETURNING 1
)
UPDATE audit_chain_heads h SET seq = @seq, hash = @hash, updated_at = now()
WHERE h.subject_type = @subject_type AND h.subject_id = @subject_id AND EXISTS (SELECT FROM inserted);

-- name: ListEvents :many
SELECT * FROM events
WHERE subject_type = @subject_type AND subject_id = @subject_id
ORDER BY id;

-- name: EventKeyUsed :one
-- EventKeyUsed says whether a subject's event key was recorded before.
-- Asked after BeginEvent in the same transaction, it sees every event of
-- the chain that was committed before the head was locked: every writer
-- appends under the head's lock.
SELECT EXISTS (SELECT FROM events
               WHERE subject_type = @subject_type AND subject_id = @subject_id AND event_key = @event_key)::boolean AS used;
