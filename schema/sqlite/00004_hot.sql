-- Prune by a column set only while a process is terminal, and a per-signal
-- count that costs the same however many signals a process has. The same
-- schema shape as every other dialect (schema/postgres/00004_hot.sql says
-- why: there it makes appends HOT updates; SQLite has no HOT updates and
-- keeps its change feed in processes).
--
-- 1. prune_at_ms is updated_at_ms once the process is terminal, NULL while
--    it runs: a generated column, so every statement that writes a process
--    row keeps it right without naming it (VIRTUAL: ALTER TABLE can add no
--    STORED one; the index stores its values). PruneCandidates' condition
--    prune_at_ms < cutoff is exactly the former "terminal status and
--    updated_at_ms < cutoff", and the partial index holds the terminal
--    processes only.
--
-- 2. events.type_ordinal is the event's 1-based ordinal among its
--    process's events of the same type, written by InsertEvent and
--    backfilled here. CountEventsThrough reads the ordinal of the last
--    event of the type with sequence <= upTo: one probe of the covering
--    index (process_id, event_type, sequence, type_ordinal), which
--    replaces events_process_type_sequence.
--
-- Dropping an index drops its planner statistics; the new indexes get the
-- same kind of typical-shape figures as 00001_init.sql's (a later ANALYZE
-- replaces them).

-- +goose Up
ALTER TABLE processes ADD COLUMN prune_at_ms INTEGER GENERATED ALWAYS AS (
    CASE WHEN status IN ('completed', 'failed', 'cancelled', 'abandoned') THEN updated_at_ms END
) VIRTUAL;
DROP INDEX processes_status_updated;
-- Prune candidates: terminal processes by the time they were last updated.
CREATE INDEX processes_prune_at ON processes (prune_at_ms) WHERE prune_at_ms IS NOT NULL;

ALTER TABLE events ADD COLUMN type_ordinal INTEGER NOT NULL DEFAULT 0;
-- The ordinals are numbered into a scratch table first: an UPDATE that
-- reads a window function over events in a correlated subquery would
-- recompute it for every row (sqlc's SQLite grammar has no UPDATE ... FROM).
CREATE TABLE procreg_type_ordinals (
    process_id TEXT    NOT NULL,
    sequence   INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (process_id, sequence)
) WITHOUT ROWID;
INSERT INTO procreg_type_ordinals (process_id, sequence, n)
SELECT process_id, sequence,
       ROW_NUMBER() OVER (PARTITION BY process_id, event_type ORDER BY sequence)
FROM events;
UPDATE events SET type_ordinal = (
    SELECT o.n FROM procreg_type_ordinals AS o
    WHERE o.process_id = events.process_id AND o.sequence = events.sequence
);
DROP TABLE procreg_type_ordinals;
DROP INDEX events_process_type_sequence;
-- Count by type through a sequence, and the previous ordinal of a type.
CREATE INDEX events_process_type_sequence_ordinal ON events (process_id, event_type, sequence, type_ordinal);

INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('processes', 'processes_prune_at', '80000 2'),
    ('events', 'events_process_type_sequence_ordinal', '10000000 100 20 1 1');
