-- procreg_meta holds per-database facts the engine reads once. cursor_key is
-- the random secret that authenticates page and change-feed cursors, so a
-- cursor made by another database (another registry) is rejected.

-- +goose Up
CREATE TABLE procreg_meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO procreg_meta (name, value) VALUES ('cursor_key', lower(hex(randomblob(32))));
