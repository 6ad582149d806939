-- PostgreSQL-specific statements. Every dialect declares the same query
-- names across the files sqlc.yaml lists for it (queries_test.go enforces it).

-- DatabaseNowMs reads the database clock (epoch ms, truncated).
-- name: DatabaseNowMs :one
SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms;

-- LockProcess locks the row for the rest of the transaction and reads the
-- database clock in the same statement, so lease decisions need no extra
-- round trip and never use the client clock.
-- name: LockProcess :one
SELECT sqlc.embed(processes),
       floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms
FROM processes
WHERE id = sqlc.arg(id)
FOR UPDATE;

-- LockProcesses locks the rows of several processes, in id order (the
-- LockRows step runs above the sort, so the locks are taken in that order,
-- the order every multi-process writer uses), and reads the database clock
-- like LockProcess. Ids that are not registered are left out.
-- name: LockProcesses :many
SELECT sqlc.embed(processes),
       floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms
FROM processes
WHERE id = ANY(sqlc.arg(ids)::text[])
ORDER BY id
FOR UPDATE;

-- PruneCandidates locks the batch so no append can slip in between the
-- candidate read and the deletes. SKIP LOCKED: a process another
-- transaction holds (a transfer or session delete, which lock several
-- processes in id order) is left for a later pass instead of waited for, so
-- prune never waits on a process row and cannot deadlock with them. A
-- batch cut short by skipped rows ends the pass. prune_at_ms is
-- updated_at_ms of a terminal process and NULL for a running one
-- (00004_hot.sql), so this is "terminal and updated before the cutoff",
-- read from the partial index processes_prune_at.
-- The CAST only types the parameter: sqlc would make it nullable like the
-- column.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE prune_at_ms < CAST(sqlc.arg(cutoff_ms) AS BIGINT)
LIMIT sqlc.arg(row_limit)
FOR UPDATE SKIP LOCKED;

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id = ANY(sqlc.arg(ids)::text[]);
