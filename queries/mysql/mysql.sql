-- MySQL 8 / MariaDB-specific statements. Every name here exists in
-- queries/sqlite and queries/postgres too (queries_test.go enforces it).

-- DatabaseNowMs reads the database clock in epoch ms (truncated). The
-- expression works on MySQL 8 and MariaDB; UNIX_TIMESTAMP(NOW(3)) converts
-- back from the session time zone, which is exact when the session runs in
-- UTC (time_zone='+00:00'; otherwise only ambiguous in a DST fold hour).
-- sqlc's MySQL catalog rejects UTC_TIMESTAMP(3), hence NOW(3).
-- name: DatabaseNowMs :one
SELECT CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) AS now_ms;

-- LockProcess locks the row for the rest of the transaction and reads the
-- database clock in the same statement. NOW(3) is fixed at statement
-- start, i.e. before any lock wait: a clock that lags only makes a lease look
-- live for longer and a new expiry earlier, never the reverse.
-- name: LockProcess :one
SELECT sqlc.embed(processes),
       CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) AS now_ms
FROM processes
WHERE id = sqlc.arg(id)
FOR UPDATE;

-- UpdateProcess sets every column in store.ProcessRow order (id first), so
-- the params struct converts from a store row. The immutable columns are
-- written back with the values the engine read under the row lock; the
-- server compares values, so an unchanged key or indexed column costs no
-- index or foreign-key work. (SQLite does not: see queries/sqlite.)
-- name: UpdateProcess :execrows
UPDATE processes SET
    id = sqlc.arg(id),
    registration_hash = sqlc.arg(registration_hash),
    disposition = sqlc.arg(disposition),
    input_kind = sqlc.arg(input_kind),
    identity_kind = sqlc.arg(identity_kind),
    definition_fingerprint = sqlc.arg(definition_fingerprint),
    spec = sqlc.arg(spec),
    wake_target_session = sqlc.arg(wake_target_session),
    wake_target_frame = sqlc.arg(wake_target_frame),
    created_at_ms = sqlc.arg(created_at_ms),
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

-- InsertWakeAck: a no-op update on a duplicate (INSERT IGNORE would also
-- swallow foreign-key errors).
-- name: InsertWakeAck :exec
INSERT INTO wake_acks (process_id, sequence)
VALUES (sqlc.arg(process_id), sqlc.arg(sequence))
ON DUPLICATE KEY UPDATE sequence = sequence;

-- UpsertGrant lists the columns in store.GrantRow order. VALUES() is
-- accepted by MySQL 8 and MariaDB alike.
-- name: UpsertGrant :exec
INSERT INTO grants (scope_id, process_id, session_id, descriptor_kind, descriptor_label)
VALUES (sqlc.arg(scope_id), sqlc.arg(process_id), sqlc.arg(session_id),
        sqlc.arg(descriptor_kind), sqlc.arg(descriptor_label))
ON DUPLICATE KEY UPDATE
    session_id = VALUES(session_id),
    descriptor_kind = VALUES(descriptor_kind),
    descriptor_label = VALUES(descriptor_label);

-- RecentEventsDesc returns the tail newest first; the adapter reverses it.
-- (In its dialect file because sqlc's MySQL parser takes only ? in LIMIT.)
-- name: RecentEventsDesc :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id)
ORDER BY sequence DESC
LIMIT ?;

-- PruneCandidates locks the batch so no append can slip in between the
-- candidate read and the deletes.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')
  AND updated_at_ms < sqlc.arg(cutoff_ms)
LIMIT ?
FOR UPDATE;

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id IN (sqlc.slice(ids));

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id IN (sqlc.slice(ids));
