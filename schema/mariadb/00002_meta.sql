-- procreg_meta holds per-database facts the engine reads once. cursor_key is
-- the random secret that authenticates page and change-feed cursors, so a
-- cursor made by another database (another registry) is rejected.
-- RANDOM_BYTES draws from the server's strong random source (MariaDB 10.10
-- and later); INSERT IGNORE keeps the secret a first run made.

-- mariadb: the same types as mysql (VARBINARY/LONGBLOB compare byte-wise on
-- MariaDB as on MySQL 8), every table InnoDB with a primary key (Galera
-- replicates only InnoDB and needs a key on every table), and every
-- statement idempotent (IF NOT EXISTS, INSERT IGNORE, OR REPLACE): the
-- migration lock (backends/mariadb/migrate.go) serializes migrators across
-- the nodes, but on a cluster each DDL statement is atomic on its own (TOI),
-- not the file, so a migrator that died half-way is simply run again.
-- +goose Up
CREATE TABLE IF NOT EXISTS procreg_meta (
    name  VARBINARY(64) NOT NULL PRIMARY KEY,
    value VARBINARY(255) NOT NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO procreg_meta (name, value) VALUES ('cursor_key', LOWER(HEX(RANDOM_BYTES(32))));
