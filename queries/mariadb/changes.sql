-- The change feed on MariaDB, as on MySQL: stamps come from a commit-ordered
-- counter (schema/mysql/00003_changes.sql), so every committed stamp is below
-- every stamp still to come and there is no horizon to wait for.

-- BumpChangeCounter advances the counter; the adapter runs it just before
-- each record-changing row write (UpdateProcess, InsertProcess), which reads
-- the new value through procreg_change_clock. The counter row stays locked
-- until the transaction ends, so stamps are handed out in commit order.
-- On a Galera cluster the counter row is a certification hotspot: two
-- record changes committed through different nodes at once conflict on it,
-- and all but the first are aborted (1213) and retried by the store, so
-- stamps stay unique and in the cluster's commit order (every node applies
-- write-sets in that order), at the price docs/galera.md measures.
-- Only MySQL and MariaDB declare it (an optional query, dialectgen); the
-- adapter generator emits the call when a gen package has it.
-- name: BumpChangeCounter :exec
UPDATE procreg_change_counter SET n = n + 1 WHERE id = 1;

-- ProcessesChangedSince returns the rows after the cursor (after_pos,
-- after_id) in (change_pos, id) order, from the index processes_change_pos_id.
-- LIMIT ?: sqlc's MySQL parser takes nothing else (renamed RowLimit in sqlc.yaml).
-- name: ProcessesChangedSince :many
SELECT * FROM processes
WHERE change_pos >= sqlc.arg(after_pos)
  AND (change_pos > sqlc.arg(after_pos) OR id > sqlc.arg(after_id))
ORDER BY change_pos, id
LIMIT ?;
