-- Statements SQLite and MySQL share: IN lists expanded by sqlc.slice.
-- sqlc.yaml compiles this directory for those two dialects; PostgreSQL binds
-- an array instead (= ANY, in queries/postgres).

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id IN (sqlc.slice(ids));
