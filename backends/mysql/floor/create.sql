-- procreg bench's floor (driver.Floor): the scratch table, created when
-- missing and left in place (each run deletes only its own rows). Its key
-- is VARBINARY(255) like processes.id, so a primary-key lookup costs what
-- the registry's does.
CREATE TABLE IF NOT EXISTS procreg_bench_floor (
    id   VARBINARY(255) NOT NULL PRIMARY KEY,
    n    BIGINT         NOT NULL DEFAULT 0,
    body LONGBLOB       NOT NULL
) ENGINE = InnoDB;
