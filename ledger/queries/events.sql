-- name: InsertEvent :exec
INSERT INTO events (subject_type, subject_id, event_key, action, stage_before, stage_after,
                    actor, note, evidence, data, occurred_at)
VALUES (@subject_type, @subject_id, @event_key, @action, @stage_before, @stage_after,
        @actor, @note, @evidence, @data, @occurred_at)
ON CONFLICT (subject_type, subject_id, event_key) DO NOTHING;

-- name: ListEvents :many
SELECT * FROM events
WHERE subject_type = @subject_type AND subject_id = @subject_id
ORDER BY id;
