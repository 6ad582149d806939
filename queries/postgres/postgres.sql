-- PostgreSQL-specific statements. Every name here exists in queries/sqlite
-- and queries/mysql too (queries_test.go enforces it).

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

-- PruneCandidates locks the batch so no append can slip in between the
-- candidate read and the deletes.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')
  AND updated_at_ms < sqlc.arg(cutoff_ms)
LIMIT sqlc.arg(row_limit)
FOR UPDATE;

-- name: DeleteEventsOf :execrows
DELETE FROM events WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteWakeAcksOf :execrows
DELETE FROM wake_acks WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteGrantsOf :execrows
DELETE FROM grants WHERE process_id = ANY(sqlc.arg(ids)::text[]);

-- name: DeleteProcessesIn :execrows
DELETE FROM processes WHERE id = ANY(sqlc.arg(ids)::text[]);
