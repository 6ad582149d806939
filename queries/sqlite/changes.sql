-- The change feed on SQLite: one writer at a time, so every committed stamp
-- is below every stamp still to come and there is no horizon to wait for.

-- ProcessesChangedSince returns the rows after the cursor (after_pos,
-- after_id) in (change_pos, id) order, from the index processes_change_pos_id.
-- name: ProcessesChangedSince :many
SELECT * FROM processes
WHERE change_pos >= sqlc.arg(after_pos)
  AND (change_pos > sqlc.arg(after_pos) OR id > sqlc.arg(after_id))
ORDER BY change_pos, id
LIMIT sqlc.arg(row_limit);
