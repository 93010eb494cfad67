-- The audit chains' head rows guard themselves. The application role must
-- UPDATE a head (each row appended moves it on) and DELETE the heads of
-- access days the retention pruned, and the grant alone let it do anything
-- else too: delete any chain's head or move one back (the subject could
-- never be written again: its next row would repeat a seq; verification
-- then reports tampering). Now, for any role but the table's owner (who can
-- switch triggers off anyway):
--   * a head keeps its subject;
--   * it stays where it is (seq and hash: the head lock's no-op update) or
--     moves on (by one row, or by several when an import appends several);
--   * only an access day's head is deleted, once that day's records are
--     gone (the access log's own trigger keeps 180 days).
-- Forward-only.

-- CREATE TRIGGER locks the table every event and access record writes;
-- behind a long transaction it would hold up every write while it waits:
-- give up instead, and let `xuncha migrate` be run again.
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION guard_chain_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
    RETURN COALESCE(NEW, OLD);
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.subject_type = 'access' AND NOT EXISTS (
         SELECT 1 FROM access_log a
         WHERE a.day = left(OLD.subject_id, 10)::date AND a.chain = substr(OLD.subject_id, 12)) THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the head of chain %/% may not be deleted: only those of access days already pruned', OLD.subject_type, OLD.subject_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.subject_type IS DISTINCT FROM OLD.subject_type OR NEW.subject_id IS DISTINCT FROM OLD.subject_id THEN
    RAISE EXCEPTION 'the head of chain %/% may not change its subject', OLD.subject_type, OLD.subject_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT ((NEW.seq = OLD.seq AND NEW.hash = OLD.hash) OR NEW.seq > OLD.seq) THEN
    RAISE EXCEPTION 'the head of chain %/% only moves on (seq % to %)', OLD.subject_type, OLD.subject_id, OLD.seq, NEW.seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_chain_heads_guard BEFORE UPDATE OR DELETE ON audit_chain_heads
  FOR EACH ROW EXECUTE FUNCTION guard_chain_head();
