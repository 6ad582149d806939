-- SQLite's upserts, ON CONFLICT DO NOTHING and DO UPDATE, which PostgreSQL
-- spells the same: sqlc.yaml compiles this file for postgresql too, by
-- path. MySQL has no ON CONFLICT; queries/mysql spells these its way.

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
