-- The change feed (Registry.ProcessesChangedSince). Every record-changing
-- write stamps its process row with change_pos, read from the view
-- procreg_change_clock inside the UpdateProcess / InsertProcess statement,
-- and the feed reads (change_pos, id) in order. SQLite has one writer at a
-- time (BEGIN IMMEDIATE), so the greatest stamp plus one, taken inside the
-- write transaction, is ordered like the commits. procreg_change_floor keeps
-- the greatest stamp ever deleted (the trigger below, fired by prune), so a
-- pruned row never lets a position be handed out twice. Lease-only writes
-- (UpdateProcessLease) do not stamp. Rows that existed before this migration
-- keep position 0, so a feed from the beginning returns them first.

-- +goose Up
ALTER TABLE processes ADD COLUMN change_pos INTEGER NOT NULL DEFAULT 0;
-- The feed: (change_pos, id) after the cursor, in order.
CREATE INDEX processes_change_pos_id ON processes (change_pos, id);
CREATE TABLE procreg_change_floor (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    floor INTEGER NOT NULL
);
INSERT INTO procreg_change_floor (id, floor) VALUES (1, 0);
-- +goose StatementBegin
CREATE TRIGGER processes_change_floor AFTER DELETE ON processes
WHEN OLD.change_pos > (SELECT floor FROM procreg_change_floor WHERE id = 1)
BEGIN
    UPDATE procreg_change_floor SET floor = OLD.change_pos WHERE id = 1;
END;
-- +goose StatementEnd
CREATE VIEW procreg_change_clock AS
SELECT max(coalesce((SELECT max(change_pos) FROM processes), 0), floor) + 1 AS pos
FROM procreg_change_floor WHERE id = 1;
