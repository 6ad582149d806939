-- SQLite-specific statements. Every name here exists in queries/postgres and
-- queries/mysql too (queries_test.go enforces it).

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

-- name: InsertWakeAck :exec
INSERT INTO wake_acks (process_id, sequence)
VALUES (sqlc.arg(process_id), sqlc.arg(sequence))
ON CONFLICT (process_id, sequence) DO NOTHING;

-- UpsertGrant lists the columns in store.GrantRow order.
-- name: UpsertGrant :exec
INSERT INTO grants (scope_id, process_id, session_id, descriptor_kind, descriptor_label)
VALUES (sqlc.arg(scope_id), sqlc.arg(process_id), sqlc.arg(session_id),
        sqlc.arg(descriptor_kind), sqlc.arg(descriptor_label))
ON CONFLICT (scope_id, process_id) DO UPDATE SET
    session_id = excluded.session_id,
    descriptor_kind = excluded.descriptor_kind,
    descriptor_label = excluded.descriptor_label;

-- RecentEventsDesc returns the tail newest first; the adapter reverses it.
-- (In its dialect file because sqlc's MySQL parser takes only ? in LIMIT.)
-- name: RecentEventsDesc :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id)
ORDER BY sequence DESC
LIMIT sqlc.arg(row_limit);

-- PruneCandidates walks the (status, updated_at_ms) index; no ORDER BY so
-- each batch stops after row_limit index entries.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')
  AND updated_at_ms < sqlc.arg(cutoff_ms)
LIMIT sqlc.arg(row_limit);

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id IN (sqlc.slice(ids));
