-- Tip content sealed at rest (issue 11 item 5). Forward-only.
--
-- What a tip says is kept sealed (AES-256-GCM with the server key,
-- XUNCHA_TIP_KEY, the tip's ID and the field bound as additional data:
-- "tip-content:<id>") in content_sealed, as the reporter's identity is in
-- reporter_ciphertext. A migration cannot encrypt, so the plaintext column
-- stays, nullable, for rows written before this migration (and by an older
-- binary during a rolling upgrade); `xuncha migrate`, given the key, seals
-- them and empties the column (ledger.sealTipContent). Each row holds its
-- content in exactly one of the two forms.
ALTER TABLE tips ADD COLUMN content_sealed bytea;
ALTER TABLE tips ALTER COLUMN content DROP NOT NULL;
ALTER TABLE tips ADD CONSTRAINT tips_content_one_form
  CHECK ((content IS NULL) <> (content_sealed IS NULL));

-- What was received is never rewritten: only the triage columns change,
-- and a row whose content is still plaintext is sealed once, by the
-- table's owner (xuncha migrate), never by the application's role.
CREATE OR REPLACE FUNCTION refuse_tip_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  sealing boolean := OLD.content IS NOT NULL AND OLD.content_sealed IS NULL
                     AND NEW.content IS NULL AND NEW.content_sealed IS NOT NULL;
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id
     OR NEW.request_id IS DISTINCT FROM OLD.request_id
     OR NEW.inspection_id IS DISTINCT FROM OLD.inspection_id
     OR NEW.channel IS DISTINCT FROM OLD.channel
     OR NEW.received_on IS DISTINCT FROM OLD.received_on
     OR NEW.reporter_ciphertext IS DISTINCT FROM OLD.reporter_ciphertext
     OR NEW.received_by IS DISTINCT FROM OLD.received_by
     OR NEW.created_at IS DISTINCT FROM OLD.created_at
     OR (NOT sealing AND (NEW.content IS DISTINCT FROM OLD.content
                          OR NEW.content_sealed IS DISTINCT FROM OLD.content_sealed)) THEN
    RAISE EXCEPTION 'UPDATE of what tip % received is refused: only its triage changes', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF sealing AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION 'sealing the content of tip % is refused: only the table''s owner (xuncha migrate) seals it', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
