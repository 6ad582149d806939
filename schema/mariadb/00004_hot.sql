-- Prune by a column set only while a process is terminal, and a per-signal
-- count that costs the same however many signals a process has. The same
-- schema shape as every other dialect (schema/postgres/00004_hot.sql says
-- why: there it makes appends HOT updates; InnoDB has no HOT updates, and
-- the change feed stays in processes).
--
-- 1. prune_at_ms is updated_at_ms once the process is terminal, NULL while
--    it runs: a generated column, so every statement that writes a process
--    row keeps it right without naming it (STORED: adding it rebuilds the
--    table once, which is the backfill). PruneCandidates' condition
--    prune_at_ms < cutoff is exactly the former "terminal status and
--    updated_at_ms < cutoff".
--
-- 2. events.type_ordinal is the event's 1-based ordinal among its
--    process's events of the same type, written by InsertEvent and
--    backfilled here (the window function's derived table is
--    materialized, so the update may read the table it writes).
--    CountEventsThrough reads the ordinal of the last event of the type
--    with sequence <= upTo: one probe of the covering index (process_id,
--    event_type, sequence, type_ordinal), which replaces
--    events_process_type_sequence.

-- mariadb: the same types as mysql (VARBINARY/LONGBLOB compare byte-wise on
-- MariaDB as on MySQL 8), every table InnoDB with a primary key (Galera
-- replicates only InnoDB and needs a key on every table), and every
-- statement idempotent (IF NOT EXISTS, IF EXISTS; the backfill recomputes
-- every ordinal): the migration lock (backends/mariadb/migrate.go)
-- serializes migrators across the nodes, but on a cluster each DDL
-- statement is atomic on its own (TOI), not the file, so a migrator that
-- died half-way is simply run again.
-- +goose Up
ALTER TABLE processes
    ADD COLUMN IF NOT EXISTS prune_at_ms BIGINT GENERATED ALWAYS AS (
        CASE WHEN status IN ('completed', 'failed', 'cancelled', 'abandoned') THEN updated_at_ms END
    ) STORED,
    DROP INDEX IF EXISTS processes_status_updated,
    -- Prune candidates: terminal processes by the time they were last updated.
    ADD INDEX IF NOT EXISTS processes_prune_at (prune_at_ms);
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS type_ordinal BIGINT NOT NULL DEFAULT 0,
    DROP INDEX IF EXISTS events_process_type_sequence,
    -- Count by type through a sequence, and the previous ordinal of a type.
    ADD INDEX IF NOT EXISTS events_process_type_sequence_ordinal (process_id, event_type, sequence, type_ordinal);
UPDATE events
JOIN (
    SELECT process_id, sequence,
           ROW_NUMBER() OVER (PARTITION BY process_id, event_type ORDER BY sequence) AS n
    FROM events
) AS o ON events.process_id = o.process_id AND events.sequence = o.sequence
SET events.type_ordinal = o.n;
