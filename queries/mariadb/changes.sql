-- Copied from queries/mysql/changes.sql by procreg dialect new mariadb --from mysql.
-- The change feed on MySQL / MariaDB: stamps come from a commit-ordered
-- counter (schema/mysql/00003_changes.sql), so every committed stamp is below
-- every stamp still to come and there is no horizon to wait for.

-- BumpChangeCounter advances the counter; the adapter runs it just before
-- each record-changing row write (UpdateProcess, InsertProcess), which reads
-- the new value through procreg_change_clock. The counter row stays locked
-- until the transaction ends, so stamps are handed out in commit order.
-- Only MySQL declares it (queries_test.go lists it as dialect-only); the
-- adapter generator emits the call when a gen package has it.
-- name: BumpChangeCounter :exec
UPDATE procreg_change_counter SET n = n + 1 WHERE id = 1;

-- ProcessesChangedSince returns the rows after the cursor (after_pos,
-- after_id) in (change_pos, id) order, from the index processes_change_pos_id.
-- TODO(dialect): LIMIT: mysql binds the LIMIT as a bare ? (renamed RowLimit in sqlc.yaml)
-- name: ProcessesChangedSince :many
SELECT * FROM processes
WHERE change_pos >= sqlc.arg(after_pos)
  AND (change_pos > sqlc.arg(after_pos) OR id > sqlc.arg(after_id))
ORDER BY change_pos, id
LIMIT ?;
