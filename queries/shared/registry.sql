-- Queries compiled for every dialect. Portable SQL only, with sqlc.arg(...)
-- parameters; statements that truly differ live in queries/<dialect>/.

-- name: GetProcess :one
SELECT * FROM processes WHERE id = sqlc.arg(id);

-- InsertProcess lists every column in driver.ProcessRow order; the generated
-- adapter fills its params field by field from the row. change_pos is the
-- store's change-feed stamp (schema/<dialect>/00003_changes.sql), never the
-- row's.
-- name: InsertProcess :exec
INSERT INTO processes (
    id, registration_hash, disposition, input_kind, identity_kind,
    definition_fingerprint, spec, wake_target_session, wake_target_frame,
    created_at_ms, updated_at_ms, status, await_output,
    external_ref_backend, external_ref_id, external_ref_metadata,
    first_started_owner, first_started_at_ms, abandon_requested,
    abandon_requested_by, abandon_requested_at_ms, abandon_reason, waiting,
    wait_kind, wait_name, wait_event_type, wait_key, wait_ordinal,
    wait_since_ms, last_sequence, lease_token, lease_owner, lease_owner_id,
    lease_incarnation_id, lease_fencing_token, lease_claimed_at_ms,
    lease_expires_at_ms, change_pos
) VALUES (
    sqlc.arg(id), sqlc.arg(registration_hash), sqlc.arg(disposition),
    sqlc.arg(input_kind), sqlc.arg(identity_kind),
    sqlc.arg(definition_fingerprint), sqlc.arg(spec),
    sqlc.arg(wake_target_session), sqlc.arg(wake_target_frame),
    sqlc.arg(created_at_ms), sqlc.arg(updated_at_ms), sqlc.arg(status),
    sqlc.arg(await_output), sqlc.arg(external_ref_backend),
    sqlc.arg(external_ref_id), sqlc.arg(external_ref_metadata),
    sqlc.arg(first_started_owner), sqlc.arg(first_started_at_ms),
    sqlc.arg(abandon_requested), sqlc.arg(abandon_requested_by),
    sqlc.arg(abandon_requested_at_ms), sqlc.arg(abandon_reason),
    sqlc.arg(waiting), sqlc.arg(wait_kind), sqlc.arg(wait_name),
    sqlc.arg(wait_event_type), sqlc.arg(wait_key), sqlc.arg(wait_ordinal),
    sqlc.arg(wait_since_ms), sqlc.arg(last_sequence),
    sqlc.arg(lease_token), sqlc.arg(lease_owner), sqlc.arg(lease_owner_id),
    sqlc.arg(lease_incarnation_id), sqlc.arg(lease_fencing_token),
    sqlc.arg(lease_claimed_at_ms), sqlc.arg(lease_expires_at_ms),
    (SELECT pos FROM procreg_change_clock)
);

-- UpdateProcess sets the mutable columns only, in driver.ProcessRow order,
-- then the key (the generated adapter fills its params from the row, field
-- by field; adaptergen checks each is a driver.ProcessRow field). The
-- immutable columns are left out because SQLite rewrites every index that
-- has a SET column and re-checks foreign keys when the key is SET, even to
-- the same value (that tripled the cost of an append); PostgreSQL and MySQL
-- lose nothing by it. Every UpdateProcess is a record change and stamps
-- change_pos for the change feed (00003_changes.sql); a lease-only write is
-- UpdateProcessLease (changes.sql), which does not. It is :exec, not
-- :execrows: the row is locked, so nobody needs its count, and a PostgreSQL
-- transaction sends a statement whose result nobody reads with the next one
-- (backends/postgres/pipe.go).
-- name: UpdateProcess :exec
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
    lease_expires_at_ms = sqlc.arg(lease_expires_at_ms),
    change_pos = (SELECT pos FROM procreg_change_clock)
WHERE id = sqlc.arg(id);

-- The ListProcesses* family: one statement per filter combination so that
-- each is a plain index range (an optional-filter OR would defeat indexes).

-- name: ListProcessesAll :many
SELECT * FROM processes ORDER BY id;

-- name: ListProcessesByStatus :many
SELECT * FROM processes WHERE status = sqlc.arg(status) ORDER BY id;

-- name: ListProcessesByStatusWaiting :many
SELECT * FROM processes
WHERE status = sqlc.arg(status) AND waiting = sqlc.arg(waiting)
ORDER BY id;

-- ListProcessesByWaiting names every status so that the (status, waiting,
-- id) index serves it.
-- name: ListProcessesByWaiting :many
SELECT * FROM processes
WHERE status IN ('running', 'completed', 'failed', 'cancelled', 'abandoned')
  AND waiting = sqlc.arg(waiting)
ORDER BY id;

-- name: ListProcessesByDefinition :many
SELECT * FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
ORDER BY id;

-- name: ListProcessesByDefinitionStatus :many
SELECT * FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
ORDER BY id;

-- name: ListProcessesByDefinitionWaiting :many
SELECT * FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND waiting = sqlc.arg(waiting)
ORDER BY id;

-- name: ListProcessesByDefinitionStatusWaiting :many
SELECT * FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
ORDER BY id;

-- name: ListProcessesByWakeTargetSession :many
SELECT * FROM processes
WHERE wake_target_session = sqlc.arg(wake_target_session)
ORDER BY id;

-- InsertEvent lists every column in driver.EventRow order, then the
-- event's ordinal among its process's events of the same type: one more
-- than the type's latest event's (1 for the first), read from the index
-- (process_id, event_type, sequence, type_ordinal) in the same statement.
-- The engine holds the process row locked, so no other append of the
-- process runs in between. INSERT ... SELECT ... FROM a derived table, because
-- MySQL refuses a scalar subquery on the table being inserted into (1093)
-- but allows it in the SELECT's FROM; every dialect spells it alike.
-- name: InsertEvent :exec
INSERT INTO events (
    process_id, sequence, event_type, payload, replay_key, terminal_state,
    await_output, has_wake, wake_input, wake_dedupe_key, wake_target_session,
    wake_target_frame, occurred_at_ms, type_ordinal
)
SELECT
    sqlc.arg(process_id), sqlc.arg(sequence), sqlc.arg(event_type),
    sqlc.arg(payload), sqlc.arg(replay_key), sqlc.arg(terminal_state),
    sqlc.arg(await_output), sqlc.arg(has_wake), sqlc.arg(wake_input),
    sqlc.arg(wake_dedupe_key), sqlc.arg(wake_target_session),
    sqlc.arg(wake_target_frame), sqlc.arg(occurred_at_ms),
    COALESCE(MAX(prev.type_ordinal), 0) + 1
FROM (
    SELECT e.type_ordinal FROM events AS e
    WHERE e.process_id = sqlc.arg(process_id) AND e.event_type = sqlc.arg(event_type)
    ORDER BY e.sequence DESC
    LIMIT 1
) AS prev;

-- EventByReplayKey: a replay key is stored at most once per process (the
-- engine checks before it appends). No ORDER BY: with one, SQLite walks the
-- process's whole log in sequence order instead of using the key index.
-- name: EventByReplayKey :one
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id) AND replay_key = sqlc.arg(replay_key)
LIMIT 1;

-- name: EventsAfter :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id) AND sequence > sqlc.arg(after_sequence)
ORDER BY sequence;

-- WakeEventsAfter picks the wake events from the (process_id, has_wake,
-- sequence) index in a subquery: asked directly, SQLite prefers walking the
-- covering primary key over every event after the cursor, which for a long
-- log with few wakes is a scan of the whole log.
-- name: WakeEventsAfter :many
SELECT * FROM events
WHERE events.process_id = sqlc.arg(process_id)
  AND events.sequence IN (
    SELECT w.sequence FROM events AS w
    WHERE w.process_id = sqlc.arg(process_id)
      AND w.has_wake = TRUE
      AND w.sequence > sqlc.arg(after_sequence)
  )
  AND NOT EXISTS (
    SELECT 1 FROM wake_acks
    WHERE wake_acks.process_id = events.process_id
      AND wake_acks.sequence = events.sequence
  )
ORDER BY events.sequence;

-- CountEventsThrough reads the ordinal (events.type_ordinal) of the type's
-- last event at or before up_to_sequence: one probe of the index
-- (process_id, event_type, sequence, type_ordinal), the same cost at the
-- 50,000th matching event as at the first. No row (no such event) is a
-- count of 0; the generated adapter maps it.
-- name: CountEventsThrough :one
SELECT type_ordinal FROM events
WHERE process_id = sqlc.arg(process_id)
  AND event_type = sqlc.arg(event_type)
  AND sequence <= sqlc.arg(up_to_sequence)
ORDER BY sequence DESC
LIMIT 1;

-- name: GetGrant :one
SELECT * FROM grants
WHERE scope_id = sqlc.arg(scope_id) AND process_id = sqlc.arg(process_id);

-- name: DeleteGrant :exec
DELETE FROM grants
WHERE scope_id = sqlc.arg(scope_id) AND process_id = sqlc.arg(process_id);

-- name: ListGrantsByScope :many
SELECT sqlc.embed(grants), sqlc.embed(processes)
FROM grants
JOIN processes ON processes.id = grants.process_id
WHERE grants.scope_id = sqlc.arg(scope_id)
ORDER BY grants.process_id;

-- name: ListGrantsByProcess :many
SELECT * FROM grants
WHERE process_id = sqlc.arg(process_id)
ORDER BY session_id, scope_id;

-- name: ListGrantsBySession :many
SELECT * FROM grants
WHERE session_id = sqlc.arg(session_id)
ORDER BY process_id, scope_id;

-- name: DeleteGrantsBySession :execrows
DELETE FROM grants WHERE session_id = sqlc.arg(session_id);

-- name: CountGrantsForProcess :one
SELECT COUNT(*) FROM grants WHERE process_id = sqlc.arg(process_id);

-- name: CursorKey :one
SELECT value FROM procreg_meta WHERE name = 'cursor_key';
