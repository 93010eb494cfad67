-- name: InsertReferralRoute :one
-- InsertReferralRoute records a change of the routing table; a request ID
-- already used inserts nothing (a retry).
INSERT INTO referral_routes (request_id, unit_level, clue_kind, cadre_rank, receiver, ack_working_days, note, updated_by)
VALUES (@request_id, @unit_level, @clue_kind, @cadre_rank, @receiver, @ack_working_days, @note, @updated_by)
ON CONFLICT (request_id) DO NOTHING
RETURNING id;

-- name: ReferralRouteOfRequest :one
SELECT * FROM referral_routes WHERE request_id = @request_id;

-- name: GetReferralRoute :one
SELECT * FROM referral_routes WHERE id = @id;

-- name: CurrentReferralRoute :one
-- CurrentReferralRoute is the newest row of a key (a removal when its
-- receiver is '').
SELECT * FROM referral_routes
WHERE unit_level = @unit_level AND clue_kind = @clue_kind AND cadre_rank = @cadre_rank
ORDER BY id DESC LIMIT 1;

-- name: CurrentReferralRoutes :many
-- CurrentReferralRoutes is the routing table in force: the newest row of
-- each key that is not a removal, in key order.
SELECT * FROM (
  SELECT DISTINCT ON (unit_level, clue_kind, cadre_rank) * FROM referral_routes
  ORDER BY unit_level, clue_kind, cadre_rank, id DESC
) AS current WHERE receiver <> ''
ORDER BY unit_level, clue_kind, cadre_rank;
