-- The change feed on PostgreSQL: stamps are transaction ids, so only rows
-- stamped below the statement's visibility horizon (the xmin of its
-- snapshot: every transaction below it has ended, every one still running
-- is at or above it) are served. A row stamped by a transaction that is
-- still running, or that committed after a younger one, waits until the
-- horizon passes it; it is never left behind the cursor.

-- ProcessesChangedSince returns the rows after the cursor (after_pos,
-- after_id) and below the horizon in (change_pos, id) order: it walks the
-- narrow table process_changes by its index process_changes_pos_id (the
-- position is kept there so that the processes row has no indexed column
-- an append changes, 00004_hot.sql) and fetches each row by primary key.
-- The trigger that fills process_changes copies processes.change_pos in
-- the same statement, so the two positions are always equal.
-- name: ProcessesChangedSince :many
SELECT processes.* FROM process_changes
JOIN processes ON processes.id = process_changes.process_id
WHERE process_changes.change_pos < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
  AND (process_changes.change_pos, process_changes.process_id) > (sqlc.arg(after_pos)::bigint, sqlc.arg(after_id)::text)
ORDER BY process_changes.change_pos, process_changes.process_id
LIMIT sqlc.arg(row_limit);
