-- procreg_meta holds per-database facts the engine reads once. cursor_key is
-- the random secret that authenticates page and change-feed cursors, so a
-- cursor made by another database (another registry) is rejected.
-- gen_random_uuid() draws from the server's strong random source.

-- +goose Up
CREATE TABLE procreg_meta (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO procreg_meta (name, value)
VALUES ('cursor_key', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'));
