-- SQLite-specific statements: the ones no other dialect spells the same.
-- Every dialect declares the same query names across the files sqlc.yaml
-- lists for it (queries_test.go enforces it).

-- DatabaseNowMs reads the database clock. The SQLite backend uses its
-- injected clock for leases; this exists for parity and diagnostics.
-- name: DatabaseNowMs :one
SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms;

-- LockProcess: SQLite has no row locks; every write transaction already
-- holds the database write lock (BEGIN IMMEDIATE), so this is a plain read.
-- It returns the database clock like the server dialects (same result
-- shape for the shared adapter); the SQLite backend decides leases with its
-- injected clock instead.
-- name: LockProcess :one
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE id = sqlc.arg(id);

-- LockProcesses: as LockProcess, a plain read under the write lock, for
-- several ids at once; unregistered ids are left out.
-- name: LockProcesses :many
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE id IN (sqlc.slice(ids))
ORDER BY id;

-- PruneCandidates walks the partial index processes_prune_at: prune_at_ms
-- is updated_at_ms of a terminal process and NULL for a running one
-- (00004_hot.sql), so this is "terminal and updated before the cutoff". No
-- ORDER BY, so each batch stops after row_limit index entries.
-- The CAST only types the parameter: sqlc would make it nullable like the
-- column.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE prune_at_ms < CAST(sqlc.arg(cutoff_ms) AS BIGINT)
LIMIT sqlc.arg(row_limit);
