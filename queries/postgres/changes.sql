-- The change feed on PostgreSQL: stamps are transaction ids, so only rows
-- stamped below the statement's visibility horizon (the xmin of its
-- snapshot: every transaction below it has ended, every one still running
-- is at or above it) are served. A row stamped by a transaction that is
-- still running, or that committed after a younger one, waits until the
-- horizon passes it; it is never left behind the cursor.

-- ProcessesChangedSince returns the rows after the cursor (after_pos,
-- after_id) and below the horizon in (change_pos, id) order, from the index
-- processes_change_pos_id.
-- name: ProcessesChangedSince :many
SELECT * FROM processes
WHERE change_pos < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
  AND (change_pos, id) > (sqlc.arg(after_pos)::bigint, sqlc.arg(after_id)::text)
ORDER BY change_pos, id
LIMIT sqlc.arg(row_limit);
