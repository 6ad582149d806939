-- Copied from schema/mysql/00002_meta.sql by procreg dialect new mariadb --from mysql.
-- procreg_meta holds per-database facts the engine reads once. cursor_key is
-- the random secret that authenticates page and change-feed cursors, so a
-- cursor made by another database (another registry) is rejected.
-- RANDOM_BYTES draws from the server's strong random source (MySQL 8,
-- MariaDB 10.10 and later).

-- TODO(dialect): schema: column types, collations (ids compare byte-wise), defaults and index spelling are mysql's
-- +goose Up
CREATE TABLE procreg_meta (
    name  VARBINARY(64) NOT NULL PRIMARY KEY,
    value VARBINARY(255) NOT NULL
) ENGINE = InnoDB;
INSERT INTO procreg_meta (name, value) VALUES ('cursor_key', LOWER(HEX(RANDOM_BYTES(32))));
