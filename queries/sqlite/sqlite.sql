-- SQLite-specific statements. Every name here exists in queries/postgres and
-- queries/mysql too (queries_test.go enforces it).

-- DatabaseNowMs reads the database clock. The SQLite backend uses its
-- injected clock for leases; this exists for parity and diagnostics.
-- name: DatabaseNowMs :one
SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms;

-- LockProcess: SQLite has no row locks; every write transaction already
-- holds the database write lock (BEGIN IMMEDIATE), so this is a plain read.
-- name: LockProcess :one
SELECT * FROM processes WHERE id = sqlc.arg(id);

-- UpdateProcess sets the mutable columns only (in store.ProcessRow order,
-- then the key): SQLite rewrites every index that has a SET column and
-- re-checks foreign keys when the key is SET, even to the same value, which
-- tripled the cost of an append. Its params struct converts from
-- sqlstore.ProcessUpdate (see sqlstore.UpdateOf).
-- name: UpdateProcess :execrows
UPDATE processes SET
    wake_target_session = sqlc.arg(wake_target_session),
    wake_target_frame = sqlc.arg(wake_target_frame),
    updated_at_ms = sqlc.arg(updated_at_ms),
    status = sqlc.arg(status),
    await_output = sqlc.arg(await_output),
    external_ref_backend = sqlc.arg(external_ref_backend),
    external_ref_id = sqlc.arg(external_ref_id),
    external_ref_metadata = sqlc.arg(external_ref_metadata),
    first_started_owner = sqlc.arg(first_started_owner),
    first_started_at_ms = sqlc.arg(first_started_at_ms),
    abandon_requested = sqlc.arg(abandon_requested),
    abandon_requested_by = sqlc.arg(abandon_requested_by),
    abandon_requested_at_ms = sqlc.arg(abandon_requested_at_ms),
    abandon_reason = sqlc.arg(abandon_reason),
    waiting = sqlc.arg(waiting),
    wait_kind = sqlc.arg(wait_kind),
    wait_name = sqlc.arg(wait_name),
    wait_event_type = sqlc.arg(wait_event_type),
    wait_key = sqlc.arg(wait_key),
    wait_ordinal = sqlc.arg(wait_ordinal),
    wait_since_ms = sqlc.arg(wait_since_ms),
    last_sequence = sqlc.arg(last_sequence),
    lease_token = sqlc.arg(lease_token),
    lease_owner = sqlc.arg(lease_owner),
    lease_owner_id = sqlc.arg(lease_owner_id),
    lease_incarnation_id = sqlc.arg(lease_incarnation_id),
    lease_fencing_token = sqlc.arg(lease_fencing_token),
    lease_claimed_at_ms = sqlc.arg(lease_claimed_at_ms),
    lease_expires_at_ms = sqlc.arg(lease_expires_at_ms)
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
