-- name: UnitNames :many
-- UnitNames gives each unit code its name on its latest inspection.
SELECT DISTINCT ON (unit_code) unit_code, unit_name FROM inspections
WHERE unit_code = ANY(@codes::text[])
ORDER BY unit_code, created_at DESC, id DESC;

-- name: InspectionRounds :many
-- InspectionRounds reads the rounds of inspections.
SELECT id, round FROM inspections WHERE id = ANY(@ids::text[]);
