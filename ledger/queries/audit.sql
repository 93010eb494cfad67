-- The audit chain (ledger/audit_*.go): chain heads, sealing, the access log,
-- anchors and what verification reads.

-- name: LockChainHead :one
-- LockChainHead holds a chain's head until the transaction ends, starting
-- the chain at seq 0 when it has none: writers of the same chain take
-- turns, writers of other chains do not wait.
INSERT INTO audit_chain_heads (subject_type, subject_id, seq, hash)
VALUES (@subject_type, @subject_id, 0, ''::bytea)
ON CONFLICT (subject_type, subject_id) DO UPDATE SET seq = audit_chain_heads.seq
RETURNING seq, hash;

-- name: AdvanceChainHead :exec
UPDATE audit_chain_heads SET seq = @seq, hash = @hash, updated_at = now()
WHERE subject_type = @subject_type AND subject_id = @subject_id;

-- name: UnsealedSubjects :many
-- UnsealedSubjects lists subjects with events not chained yet (written
-- before migration 008 or by an older binary).
SELECT DISTINCT subject_type, subject_id FROM events
WHERE hash IS NULL
ORDER BY subject_type, subject_id
LIMIT @row_limit::bigint;

-- name: LockChainHeads :many
-- LockChainHeads locks the heads of several chains, in the order given,
-- creating those that do not exist at seq 0.
INSERT INTO audit_chain_heads (subject_type, subject_id, seq, hash)
SELECT unnest(@subject_types::text[]), unnest(@subject_ids::text[]), 0, ''::bytea
ON CONFLICT (subject_type, subject_id) DO UPDATE SET seq = audit_chain_heads.seq
RETURNING subject_type, subject_id, seq, hash;

-- name: UnsealedEventsOf :many
-- UnsealedEventsOf reads the unsealed events of several subjects, each
-- subject's in ID order.
SELECT * FROM events
WHERE hash IS NULL
  AND (subject_type, subject_id) IN (SELECT unnest(@subject_types::text[]), unnest(@subject_ids::text[]))
ORDER BY subject_type, subject_id, id;

-- name: AdvanceChainHeads :exec
UPDATE audit_chain_heads h SET seq = u.seq, hash = u.hash, updated_at = now()
FROM (SELECT unnest(@subject_types::text[]) AS subject_type, unnest(@subject_ids::text[]) AS subject_id,
             unnest(@seqs::bigint[]) AS seq, unnest(@hashes::bytea[]) AS hash) u
WHERE h.subject_type = u.subject_type AND h.subject_id = u.subject_id;

-- name: SealEvents :execrows
-- SealEvents writes the chain columns of unsealed events, one array element
-- per event.
UPDATE events e SET seq = u.seq, prev_hash = u.prev_hash, hash = u.hash, hash_alg = @hash_alg
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@seqs::bigint[]) AS seq,
             unnest(@prev_hashes::bytea[]) AS prev_hash, unnest(@hashes::bytea[]) AS hash) u
WHERE e.id = u.id AND e.hash IS NULL;

-- name: PrepareAccess :one
-- PrepareAccess gives an access record its ID and time (now, or at when
-- set) and returns its JSON documents as jsonb stores them.
SELECT nextval(pg_get_serial_sequence('access_log', 'id'))::bigint AS id,
       COALESCE(sqlc.narg(at)::timestamptz, now())::timestamptz AS at,
       @actor::jsonb AS actor,
       @details::jsonb AS details;

-- name: InsertAccess :exec
INSERT INTO access_log (id, day, chain, seq, at, actor, action, resource, outcome, reason, remote, details,
                        prev_hash, hash, hash_alg)
VALUES (@id, @day, @chain, @seq, @at, @actor, @action, @resource, @outcome, @reason, @remote, @details,
        @prev_hash, @hash, @hash_alg);

-- name: AccessRecords :many
-- AccessRecords lists access records from since on, oldest first.
SELECT * FROM access_log WHERE at >= @since ORDER BY at, id;

-- name: LockAnchors :exec
-- LockAnchors makes anchors take turns (transaction-scoped advisory lock).
SELECT pg_advisory_xact_lock(hashtext('xuncha.audit_anchor'));

-- name: LastAnchor :one
SELECT * FROM audit_anchors ORDER BY seq DESC LIMIT 1;

-- name: PruneAccessLog :execrows
-- PruneAccessLog deletes whole days of access records before @before (the
-- trigger refuses days younger than 180).
DELETE FROM access_log WHERE day < @before;

-- name: PruneAccessHeads :exec
-- PruneAccessHeads forgets the heads and anchored positions of the pruned
-- days (subject_id "<YYYY-MM-DD>/<caller>").
WITH heads AS (
  DELETE FROM audit_chain_heads
  WHERE subject_type = 'access' AND left(subject_id, 10) < to_char(@before::date, 'YYYY-MM-DD')
)
DELETE FROM audit_anchored_heads
WHERE subject_type = 'access' AND left(subject_id, 10) < to_char(@before::date, 'YYYY-MM-DD');

-- name: HeadsToAnchor :many
-- HeadsToAnchor reads every non-empty chain head in byte order of its key,
-- with where the newest anchor left it (-1: never anchored).
SELECT h.subject_type, h.subject_id, h.seq, h.hash, COALESCE(a.seq, -1)::bigint AS anchored_seq
FROM audit_chain_heads h
LEFT JOIN audit_anchored_heads a USING (subject_type, subject_id)
WHERE h.seq > 0
ORDER BY h.subject_type COLLATE "C", h.subject_id COLLATE "C";

-- name: InsertAnchor :one
INSERT INTO audit_anchors (seq, taken_at, taken_by, heads_count, heads_hash, entries_count, entries_hash,
                           access_pruned_before, access_pruned_rows, prev_hash, hash, hash_alg)
VALUES (@seq, @taken_at, @taken_by, @heads_count, @heads_hash, @entries_count, @entries_hash,
        @access_pruned_before, @access_pruned_rows, @prev_hash, @hash, @hash_alg)
RETURNING id;

-- name: InsertAnchorEntries :exec
INSERT INTO audit_anchor_entries (anchor_id, subject_type, subject_id, seq, hash)
-- The arrays have one element per entry (set-returning functions in the
-- select list advance together).
SELECT @anchor_id::bigint, unnest(@subject_types::text[]), unnest(@subject_ids::text[]),
       unnest(@seqs::bigint[]), unnest(@hashes::bytea[]);

-- name: MarkAnchored :exec
INSERT INTO audit_anchored_heads (subject_type, subject_id, seq)
SELECT unnest(@subject_types::text[]), unnest(@subject_ids::text[]), unnest(@seqs::bigint[])
ON CONFLICT (subject_type, subject_id) DO UPDATE SET seq = excluded.seq;

-- name: NowAndToday :one
-- NowAndToday is the database's clock: the transaction's start, and its
-- civil date in Asia/Shanghai.
SELECT now()::timestamptz AS now, (now() AT TIME ZONE 'Asia/Shanghai')::date AS today;

-- Verification reads one snapshot (REPEATABLE READ), page by page.

-- name: VerifyEventsPage :many
-- VerifyEventsPage reads chained events after a position, in chain order.
SELECT * FROM events
WHERE seq IS NOT NULL AND (subject_type, subject_id, seq) > (@after_type::text, @after_id::text, @after_seq::bigint)
  AND (@subject_type::text = '' OR subject_type = @subject_type)
  AND (@subject_id::text = '' OR subject_id = @subject_id)
ORDER BY subject_type, subject_id, seq
LIMIT @row_limit::bigint;

-- name: VerifyUnsealed :many
SELECT id, subject_type, subject_id FROM events
WHERE hash IS NULL
  AND (@subject_type::text = '' OR subject_type = @subject_type)
  AND (@subject_id::text = '' OR subject_id = @subject_id)
ORDER BY id
LIMIT 100;

-- name: VerifyAccessPage :many
SELECT * FROM access_log
WHERE (day, chain, seq) > (@after_day::date, @after_chain::text, @after_seq::bigint)
  AND (sqlc.narg(day_from)::date IS NULL OR day >= sqlc.narg(day_from))
  AND (@chain::text = '' OR chain = @chain)
ORDER BY day, chain, seq
LIMIT @row_limit::bigint;

-- name: VerifyHeads :many
SELECT subject_type, subject_id, seq, hash, updated_at FROM audit_chain_heads
WHERE (@subject_type::text = '' OR subject_type = @subject_type)
  AND (@subject_id::text = '' OR subject_id = @subject_id);

-- name: VerifyAnchors :many
SELECT * FROM audit_anchors ORDER BY seq;

-- name: VerifyAnchorEntries :many
SELECT * FROM audit_anchor_entries WHERE anchor_id = @anchor_id;

-- name: ChainsSince :many
-- ChainsSince lists the chains written to since an instant: events recorded
-- and heads moved since then.
SELECT subject_type, subject_id FROM events WHERE recorded_at >= @since
UNION
SELECT subject_type, subject_id FROM audit_chain_heads WHERE updated_at >= @since;

-- name: LostAnchoredPositions :many
-- LostAnchoredPositions lists the positions anchors recorded in event
-- chains that their chain no longer holds as recorded: no row at that seq,
-- or a row with another hash. A later anchor records where a chain is now,
-- so without this a removed or rewritten tail, head row made to match,
-- would pass once the next anchor had recorded the result. Oldest anchor
-- first within each chain.
SELECT a.seq AS anchor_seq, x.subject_type, x.subject_id, x.seq, x.hash,
       e.id AS row_id, e.hash AS row_hash
FROM audit_anchor_entries x
JOIN audit_anchors a ON a.id = x.anchor_id
LEFT JOIN events e ON e.subject_type = x.subject_type AND e.subject_id = x.subject_id AND e.seq = x.seq
WHERE x.subject_type <> 'access'
  AND (@only_type::text = '' OR x.subject_type = @only_type::text)
  AND (@only_id::text = '' OR x.subject_id = @only_id::text)
  AND (e.id IS NULL OR e.hash IS DISTINCT FROM x.hash)
ORDER BY x.subject_type, x.subject_id, x.seq, a.seq;

-- name: LostAnchoredPositionsOf :many
-- LostAnchoredPositionsOf is LostAnchoredPositions for the chains given
-- (verification since an instant): their events are read through the
-- chain's index, not scanned.
SELECT a.seq AS anchor_seq, x.subject_type, x.subject_id, x.seq, x.hash,
       e.id AS row_id, e.hash AS row_hash
FROM (SELECT unnest(@subject_types::text[]) AS subject_type, unnest(@subject_ids::text[]) AS subject_id) c
JOIN audit_anchor_entries x ON x.subject_type = c.subject_type AND x.subject_id = c.subject_id
JOIN audit_anchors a ON a.id = x.anchor_id
LEFT JOIN events e ON e.subject_type = x.subject_type AND e.subject_id = x.subject_id AND e.seq = x.seq
WHERE x.subject_type <> 'access'
  AND (e.id IS NULL OR e.hash IS DISTINCT FROM x.hash)
ORDER BY x.subject_type, x.subject_id, x.seq, a.seq;
