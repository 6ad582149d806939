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

-- PruneCandidates walks the (status, updated_at_ms) index; no ORDER BY so
-- each batch stops after row_limit index entries.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')
  AND updated_at_ms < sqlc.arg(cutoff_ms)
LIMIT sqlc.arg(row_limit);
