-- A finished lifecycle is not overdue: withdrawing, closing or cancelling a
-- finding, an inspection or an interview now clears the mark in the same
-- write. Rows finished before that change keep it; clear them once, so that
-- overdue lists (GET /v1/findings?overdue=true) show only what still runs.
-- The escalations and missed_deadlines counts stay: they are history.
-- Forward-only.

UPDATE findings SET overdue = false WHERE overdue AND stage IN ('CLOSED', 'WITHDRAWN');
UPDATE inspections SET overdue = false WHERE overdue AND stage IN ('CLOSED', 'CANCELLED');
UPDATE interviews SET overdue = false WHERE overdue AND stage IN ('CLOSED', 'CANCELLED');
