-- name: InsertEvidence :execrows
-- InsertEvidence records metadata; a NULL uploaded_at means now.
INSERT INTO evidence (id, kind, sha256, size, location, file_name, content_type, captured_at, captured_by,
                      uploaded_by, uploaded_at)
VALUES (@id, @kind, @sha256, @size, @location, @file_name, @content_type, @captured_at, @captured_by,
        @uploaded_by, COALESCE(sqlc.narg(uploaded_at)::timestamptz, now()))
ON CONFLICT (id) DO NOTHING;

-- name: AddEvidenceUploader :exec
-- AddEvidenceUploader records that subject uploaded the evidence, with what
-- it said of its upload; an uploader's later uploads keep its first.
INSERT INTO evidence_uploaders (evidence_id, subject, file_name, captured_at, captured_by)
VALUES (@evidence_id, @subject, @file_name, @captured_at, @captured_by)
ON CONFLICT DO NOTHING;

-- name: EvidenceUpload :one
-- EvidenceUpload is subject's own upload of the evidence.
SELECT file_name, captured_at, captured_by, uploaded_at FROM evidence_uploaders
WHERE evidence_id = @evidence_id AND subject = @subject;

-- name: GetEvidence :one
SELECT * FROM evidence WHERE id = @id;

-- name: EvidenceOf :many
-- EvidenceOf reads those of ids that exist, in no particular order.
SELECT * FROM evidence WHERE id = ANY(@ids::text[]);

-- name: EvidenceHeld :many
-- EvidenceHeld says of each of ids, in their order (repeated as often as
-- they are), whether evidence of the ID exists, and whether its first
-- upload was caller_subject's (never for an empty caller_subject): the
-- first rule of EvidenceInReach with uploaders_reach and
-- first_uploader_only, which needs no plan of that query's objects.
SELECT wanted.id::text AS id, (e.id IS NOT NULL)::boolean AS held,
  coalesce(@caller_subject::text <> '' AND e.uploaded_by->>'subject' = @caller_subject::text, false)::boolean AS first_uploader
FROM unnest(@ids::text[]) WITH ORDINALITY AS wanted (id, n)
LEFT JOIN evidence e ON e.id = wanted.id
ORDER BY wanted.n;

-- name: EvidenceNamedByEvent :one
-- EvidenceNamedByEvent says whether an event of any subject names the
-- evidence, other than the events of the person signed in as
-- caller_subject: every change that attaches evidence records it in its
-- event (events_evidence, migration 023), and what a person attached
-- themselves they may attach again.
SELECT EXISTS (
  SELECT 1 FROM events
  WHERE evidence @> jsonb_build_array(@id::text) AND evidence <> '[]'::jsonb
    AND (@caller_subject::text = '' OR actor->>'subject' IS DISTINCT FROM @caller_subject::text));

-- name: EvidenceInReach :one
-- EvidenceInReach says whether evidence exists and is in a caller's scope:
-- the caller uploaded it (when the caller has a subject: an
-- evidence_uploaders row of it, the first upload or a later one of the same
-- content; or the row's uploaded_by, for a row a binary from before
-- migration 018 wrote after it ran),
-- or an object in reach names it: a finding (its evidence or its
-- rectification report's), an interview's follow-up, an inspection's
-- records (notice, report). The reach conditions are those of
-- FindingInReach, InterviewInReach and InspectionInReach; a receiving
-- body (by_receiver) reaches only the findings referred to it.
-- With uploaders_reach false, only the objects count: whether the caller
-- reaches the evidence other than as one of its uploaders. With
-- first_uploader_only, of its uploaders only the first counts. With
-- first_upload_shown, an object counts only if no later uploader of the
-- same bytes (an evidence_uploaders row, not the first upload's) attached
-- the evidence to it: what such an object shows is its own upload, not
-- what the first uploader said.
SELECT EXISTS (
  SELECT 1 FROM evidence e WHERE e.id = @id AND (
    (@uploaders_reach::boolean AND @caller_subject::text <> '' AND (e.uploaded_by->>'subject' = @caller_subject::text OR
      NOT @first_uploader_only::boolean AND EXISTS (
      SELECT 1 FROM evidence_uploaders u WHERE u.evidence_id = e.id AND u.subject = @caller_subject::text)))
    OR EXISTS (
      SELECT 1 FROM findings f JOIN inspections i ON i.id = f.inspection_id
      WHERE (f.evidence_ids @> ARRAY[e.id] OR f.rectification->'evidence_ids' @> jsonb_build_array(e.id))
        AND (NOT @by_unit::boolean OR f.unit_code = ANY(@units::text[]))
        AND (NOT @by_receiver::boolean OR f.clue_referrals @> jsonb_build_array(jsonb_build_object('receiver', @receiver::text)))
        AND (NOT @by_team::boolean OR i.team @> jsonb_build_array(jsonb_build_object('subject', @caller_subject::text)))
        AND (NOT @first_upload_shown::boolean OR NOT EXISTS (
          SELECT 1 FROM events ev WHERE ev.subject_type = 'finding' AND ev.subject_id = f.id AND ev.evidence @> jsonb_build_array(e.id)
            AND ev.actor->>'subject' IS DISTINCT FROM e.uploaded_by->>'subject'
            AND ev.actor->>'subject' IN (SELECT u.subject FROM evidence_uploaders u WHERE u.evidence_id = e.id))))
    OR EXISTS (
      SELECT 1 FROM inspections i
      WHERE (i.records @> jsonb_build_object('notice_evidence_id', e.id) OR i.records @> jsonb_build_object('report_evidence_id', e.id))
        AND NOT @by_receiver::boolean
        AND (NOT @by_unit::boolean OR i.unit_code = ANY(@units::text[]))
        AND (NOT @by_team::boolean OR i.team @> jsonb_build_array(jsonb_build_object('subject', @caller_subject::text)))
        AND (NOT @first_upload_shown::boolean OR NOT EXISTS (
          SELECT 1 FROM events ev WHERE ev.subject_type = 'inspection' AND ev.subject_id = i.id AND ev.evidence @> jsonb_build_array(e.id)
            AND ev.actor->>'subject' IS DISTINCT FROM e.uploaded_by->>'subject'
            AND ev.actor->>'subject' IN (SELECT u.subject FROM evidence_uploaders u WHERE u.evidence_id = e.id))))
    OR EXISTS (
      SELECT 1 FROM interviews iv
      WHERE iv.follow_up_evidence_ids @> ARRAY[e.id]
        AND NOT @by_receiver::boolean
        AND (NOT @by_unit::boolean OR iv.unit_code = ANY(@units::text[]))
        AND (NOT @by_team::boolean OR EXISTS (
              SELECT 1 FROM inspections i
              WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @caller_subject::text))
                AND (iv.subject = 'inspection/' || i.id
                     OR iv.subject IN (SELECT 'finding/' || f.id FROM findings f WHERE f.inspection_id = i.id))))
        AND (NOT @first_upload_shown::boolean OR NOT EXISTS (
          SELECT 1 FROM events ev WHERE ev.subject_type = 'interview' AND ev.subject_id = iv.id AND ev.evidence @> jsonb_build_array(e.id)
            AND ev.actor->>'subject' IS DISTINCT FROM e.uploaded_by->>'subject'
            AND ev.actor->>'subject' IN (SELECT u.subject FROM evidence_uploaders u WHERE u.evidence_id = e.id)))))
);
