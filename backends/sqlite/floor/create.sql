-- procreg bench's floor (driver.Floor): the scratch table, created when
-- missing and left in place (each run deletes only its own rows). Its key
-- is TEXT like processes.id, so a primary-key lookup costs what the
-- registry's does.
CREATE TABLE IF NOT EXISTS procreg_bench_floor (
    id   TEXT    NOT NULL PRIMARY KEY,
    n    INTEGER NOT NULL DEFAULT 0,
    body TEXT    NOT NULL DEFAULT ''
);
