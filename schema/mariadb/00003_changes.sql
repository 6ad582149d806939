-- Copied from schema/mysql/00003_changes.sql by procreg dialect new mariadb --from mysql.
-- The change feed (Registry.ProcessesChangedSince). Every record-changing
-- write stamps its process row with change_pos, read from the view
-- procreg_change_clock inside the UpdateProcess / InsertProcess statement.
-- Writers are concurrent and MySQL/MariaDB offer no cheap visibility
-- horizon, so the stamp comes from a commit-ordered counter: the adapter
-- runs BumpChangeCounter just before the row write, and the counter row's
-- lock is held until commit, so a later stamp always belongs to a later
-- commit. Lease-only writes (UpdateProcessLease) do not stamp. Rows that
-- existed before this migration keep position 0, so a feed from the
-- beginning returns them first.

-- TODO(dialect): schema: column types, collations (ids compare byte-wise), defaults and index spelling are mysql's
-- +goose Up
ALTER TABLE processes
    ADD COLUMN change_pos BIGINT NOT NULL DEFAULT 0,
    -- The feed: (change_pos, id) after the cursor, in order.
    ADD INDEX processes_change_pos_id (change_pos, id);
CREATE TABLE procreg_change_counter (
    id TINYINT NOT NULL PRIMARY KEY,
    n  BIGINT  NOT NULL
) ENGINE = InnoDB;
INSERT INTO procreg_change_counter (id, n) VALUES (1, 0);
CREATE SQL SECURITY INVOKER VIEW procreg_change_clock AS
SELECT n AS pos FROM procreg_change_counter WHERE id = 1;
