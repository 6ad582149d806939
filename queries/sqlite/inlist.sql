-- SQLite's deletes by a list of ids, an IN list expanded by sqlc.slice,
-- which MySQL spells the same: sqlc.yaml compiles this file for mysql too,
-- by path. PostgreSQL binds an array instead (= ANY, in queries/postgres).

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id IN (sqlc.slice(ids));
