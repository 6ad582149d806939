-- The change feed (Registry.ProcessesChangedSince). Every record-changing
-- write stamps its process row with change_pos, read from the view
-- procreg_change_clock inside the UpdateProcess / InsertProcess statement.
-- Writers are concurrent and MariaDB offers no cheap visibility
-- horizon, so the stamp comes from a commit-ordered counter: the adapter
-- runs BumpChangeCounter just before the row write, and the counter row's
-- lock is held until commit, so a later stamp always belongs to a later
-- commit. Lease-only writes (UpdateProcessLease) do not stamp. Rows that
-- existed before this migration keep position 0, so a feed from the
-- beginning returns them first.

-- mariadb: the same types as mysql (VARBINARY/LONGBLOB compare byte-wise on
-- MariaDB as on MySQL 8), every table InnoDB with a primary key (Galera
-- replicates only InnoDB and needs a key on every table), and every
-- statement idempotent (IF NOT EXISTS, INSERT IGNORE, OR REPLACE): the
-- migration lock (backends/mariadb/migrate.go) serializes migrators across
-- the nodes, but on a cluster each DDL statement is atomic on its own (TOI),
-- not the file, so a migrator that died half-way is simply run again.
-- +goose Up
ALTER TABLE processes
    ADD COLUMN IF NOT EXISTS change_pos BIGINT NOT NULL DEFAULT 0,
    -- The feed: (change_pos, id) after the cursor, in order.
    ADD INDEX IF NOT EXISTS processes_change_pos_id (change_pos, id);
CREATE TABLE IF NOT EXISTS procreg_change_counter (
    id TINYINT NOT NULL PRIMARY KEY,
    n  BIGINT  NOT NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO procreg_change_counter (id, n) VALUES (1, 0);
CREATE OR REPLACE SQL SECURITY INVOKER VIEW procreg_change_clock AS
SELECT n AS pos FROM procreg_change_counter WHERE id = 1;
