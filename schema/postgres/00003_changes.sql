-- The change feed (Registry.ProcessesChangedSince). Every record-changing
-- write stamps its process row with change_pos = its own transaction id
-- (pg_current_xact_id, an xid8: 64 bits that never wrap), read from the view
-- procreg_change_clock inside the UpdateProcess / InsertProcess statement.
-- Writers are concurrent, so xids are not commit-ordered; the feed serves
-- only rows whose stamp is below the reader's visibility horizon
-- pg_snapshot_xmin(pg_current_snapshot()): every transaction below it has
-- ended, and any transaction still running (or not yet started) has an xid
-- at or above it, so a change that commits later is never behind a cursor.
-- Lease-only writes (UpdateProcessLease) do not stamp. Rows that existed
-- before this migration keep position 0, so a feed from the beginning
-- returns them first.

-- +goose Up
ALTER TABLE processes ADD COLUMN change_pos BIGINT NOT NULL DEFAULT 0;
-- The feed: (change_pos, id) after the cursor, in order.
CREATE INDEX processes_change_pos_id ON processes (change_pos, id);
CREATE VIEW procreg_change_clock AS
SELECT pg_current_xact_id()::text::bigint AS pos;
