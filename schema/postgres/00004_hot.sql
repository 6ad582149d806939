-- Appends that write no index entry, and a per-signal count that costs the
-- same however many signals a process has.
--
-- An append (and a lease claim, renewal or release) rewrites the process
-- row. PostgreSQL can keep that update on the row's page without touching
-- any index (a HOT update) only when no indexed column changed and the new
-- version fits on the page. Before this migration every append changed
-- updated_at_ms (indexed for prune) and change_pos (indexed for the change
-- feed), so almost none were HOT. Afterwards no column a non-terminal
-- record change or a lease write changes is indexed:
--
-- 1. Prune reads prune_at_ms: updated_at_ms once the process is terminal,
--    NULL while it runs. It is a generated column, so every statement that
--    writes a process row (the registry's, a later batch statement's, a
--    bulk seed's) keeps it right without naming it; a running process's
--    appends leave it NULL, so its index entry never changes. The partial
--    index holds the terminal processes only. PruneCandidates' condition
--    prune_at_ms < cutoff is exactly the former "terminal status and
--    updated_at_ms < cutoff". Adding a stored column rewrites the table
--    once, which is the backfill.
--
-- 2. The change feed's position leaves the wide row for the narrow table
--    process_changes (one row per process: its position), where the index
--    (change_pos, process_id) the feed walks in order now lives. A trigger
--    on processes writes it in the same statement as the process row, from
--    the row's own change_pos: so every writer that stamps change_pos
--    (InsertProcess, UpdateProcess, and any later statement) keeps the two
--    in step without repeating it, the shared InsertProcess/UpdateProcess
--    statements stay shared, and the stamp's meaning (the writer's xid,
--    served below the visibility horizon, 00003_changes.sql) is unchanged.
--    processes.change_pos stays, unindexed: the record's position is still
--    a column of the row, so every statement that returns process rows
--    (the generated adapter's Process model, driver.ProcessRow.ChangePos)
--    is unchanged, and an unindexed column costs a HOT update nothing.
--    Lease writes do not set change_pos, so the trigger does not fire for
--    them. Pruning a process deletes its position (ON DELETE CASCADE).
--
-- 3. fillfactor 80: a HOT update needs room for the new row version on the
--    same page. A process row is 1.1 to 1.4 KB (the registration document
--    is inline; a lease adds its columns), so the 20 % (1.6 KB) left free
--    at insert holds the next version of a typical row: the first update
--    after the insert stays on the page, and every later one finds room
--    once page pruning (which runs when the free space drops below that
--    reserve) has removed the versions no transaction can see any more.
--    A lower factor buys little for its space: while pruning is held back
--    (by any older transaction still running on the server) a page holds
--    about six versions of such a row whatever the reserve. It applies to
--    pages written from now on; existing pages keep their fill until
--    rewritten.
--
-- 4. events.type_ordinal is the event's 1-based ordinal among its
--    process's events of the same type, written by InsertEvent (the
--    process row is locked, so the previous event of the type is read
--    safely) and backfilled here. CountEventsThrough then reads the
--    ordinal of the last event of the type with sequence <= upTo: one
--    probe of the index (process_id, event_type, sequence, type_ordinal),
--    which replaces events_process_type_sequence and covers both the count
--    and InsertEvent's read.

-- +goose Up
ALTER TABLE processes
    ADD COLUMN prune_at_ms BIGINT GENERATED ALWAYS AS (
        CASE WHEN status IN ('completed', 'failed', 'cancelled', 'abandoned') THEN updated_at_ms END
    ) STORED;
DROP INDEX processes_status_updated;
-- Prune candidates: terminal processes by the time they were last updated.
CREATE INDEX processes_prune_at ON processes (prune_at_ms) WHERE prune_at_ms IS NOT NULL;

CREATE TABLE process_changes (
    process_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES processes (id) ON DELETE CASCADE,
    change_pos BIGINT NOT NULL
);
INSERT INTO process_changes (process_id, change_pos) SELECT id, change_pos FROM processes;
-- The feed: (change_pos, process_id) after the cursor, in order.
CREATE INDEX process_changes_pos_id ON process_changes (change_pos, process_id);
DROP INDEX processes_change_pos_id;
-- +goose StatementBegin
CREATE FUNCTION procreg_copy_change_pos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO process_changes (process_id, change_pos) VALUES (NEW.id, NEW.change_pos);
    ELSE
        UPDATE process_changes SET change_pos = NEW.change_pos WHERE process_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER processes_change_pos AFTER INSERT OR UPDATE OF change_pos ON processes
    FOR EACH ROW EXECUTE FUNCTION procreg_copy_change_pos();

ALTER TABLE processes SET (fillfactor = 80);

ALTER TABLE events ADD COLUMN type_ordinal BIGINT NOT NULL DEFAULT 0;
UPDATE events SET type_ordinal = o.n
FROM (
    SELECT process_id, sequence,
           ROW_NUMBER() OVER (PARTITION BY process_id, event_type ORDER BY sequence) AS n
    FROM events
) AS o
WHERE events.process_id = o.process_id AND events.sequence = o.sequence;
DROP INDEX events_process_type_sequence;
-- Count by type through a sequence, and the previous ordinal of a type.
CREATE INDEX events_process_type_sequence_ordinal ON events (process_id, event_type, sequence, type_ordinal);
