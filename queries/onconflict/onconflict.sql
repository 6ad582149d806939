-- Statements SQLite and PostgreSQL share but MySQL cannot take: ON CONFLICT
-- upserts and a named LIMIT parameter (sqlc's MySQL parser takes only a bare
-- ? in LIMIT). sqlc.yaml compiles this directory for those two dialects;
-- queries/mysql has the MySQL spelling of each.

-- name: InsertWakeAck :exec
INSERT INTO wake_acks (process_id, sequence)
VALUES (sqlc.arg(process_id), sqlc.arg(sequence))
ON CONFLICT (process_id, sequence) DO NOTHING;

-- UpsertGrant lists the columns in driver.GrantRow order.
-- name: UpsertGrant :exec
INSERT INTO grants (scope_id, process_id, session_id, descriptor_kind, descriptor_label)
VALUES (sqlc.arg(scope_id), sqlc.arg(process_id), sqlc.arg(session_id),
        sqlc.arg(descriptor_kind), sqlc.arg(descriptor_label))
ON CONFLICT (scope_id, process_id) DO UPDATE SET
    session_id = excluded.session_id,
    descriptor_kind = excluded.descriptor_kind,
    descriptor_label = excluded.descriptor_label;

-- RecentEventsDesc returns the tail newest first; the adapter reverses it.
-- name: RecentEventsDesc :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id)
ORDER BY sequence DESC
LIMIT sqlc.arg(row_limit);
