-- MySQL 8 / MariaDB-specific statements. Every dialect declares the same
-- query names across the files sqlc.yaml lists for it (queries_test.go
-- enforces it).

-- DatabaseNowMs reads the database clock in epoch ms (truncated), on MySQL 8
-- and MariaDB alike and whatever the session time zone: UNIX_TIMESTAMP()
-- without an argument is the statement's start in epoch seconds, and the
-- microseconds of NOW(6) are those of the same instant in any zone. (Going
-- through UNIX_TIMESTAMP(NOW(3)) would convert back from the session zone,
-- off by an hour in a DST fold for a caller's pool that is not in UTC;
-- sqlc's MySQL catalog rejects UTC_TIMESTAMP(3).)
-- name: DatabaseNowMs :one
SELECT CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms;

-- LockProcess locks the row for the rest of the transaction and reads the
-- database clock (as DatabaseNowMs) in the same statement. The reading is
-- fixed at statement start, i.e. before any lock wait: a clock that lags
-- only makes a lease look live for longer and a new expiry earlier, never
-- the reverse.
-- name: LockProcess :one
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE id = sqlc.arg(id)
FOR UPDATE;

-- LockProcesses locks the rows of several processes and reads the database
-- clock like LockProcess. The primary-key range scan of the IN list takes
-- the row locks in id order, the order every multi-process writer uses.
-- Unregistered ids are left out.
-- name: LockProcesses :many
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE id IN (sqlc.slice(ids))
ORDER BY id
FOR UPDATE;

-- InsertWakeAck: a no-op update on a duplicate (INSERT IGNORE would also
-- swallow foreign-key errors).
-- name: InsertWakeAck :exec
INSERT INTO wake_acks (process_id, sequence)
VALUES (sqlc.arg(process_id), sqlc.arg(sequence))
ON DUPLICATE KEY UPDATE sequence = sequence;

-- UpsertGrant lists the columns in driver.GrantRow order. VALUES() is
-- accepted by MySQL 8 and MariaDB alike.
-- name: UpsertGrant :exec
INSERT INTO grants (scope_id, process_id, session_id, descriptor_kind, descriptor_label)
VALUES (sqlc.arg(scope_id), sqlc.arg(process_id), sqlc.arg(session_id),
        sqlc.arg(descriptor_kind), sqlc.arg(descriptor_label))
ON DUPLICATE KEY UPDATE
    session_id = VALUES(session_id),
    descriptor_kind = VALUES(descriptor_kind),
    descriptor_label = VALUES(descriptor_label);

-- RecentEventsDesc returns the tail newest first; the adapter reverses it.
-- (In its dialect file because sqlc's MySQL parser takes only ? in LIMIT.)
-- name: RecentEventsDesc :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id)
ORDER BY sequence DESC
LIMIT ?;

-- PruneCandidates locks the batch so no append can slip in between the
-- candidate read and the deletes. SKIP LOCKED (MySQL 8, MariaDB 10.6+):
-- a process another transaction holds (a transfer or session delete, which
-- lock several processes in id order) is left for a later pass instead of
-- waited for, so the candidate read takes no part in their lock order. A
-- batch cut short by skipped rows ends the pass. Not yet deadlock-free on
-- MySQL: when the batch is most of a small table, InnoDB runs the batch's
-- DELETE … IN (ids) as a full scan and locks (under REPEATABLE READ and
-- READ COMMITTED alike) rows it does not delete, such as the ones it
-- skipped here; the deadlock that can follow is retried.
-- prune_at_ms is updated_at_ms of a terminal process and NULL for a
-- running one (00004_hot.sql), so this is "terminal and updated before the
-- cutoff", read from the index processes_prune_at.
-- The CAST only types the parameter: sqlc would make it nullable like the
-- column.
-- name: PruneCandidates :many
SELECT id FROM processes
WHERE prune_at_ms < CAST(sqlc.arg(cutoff_ms) AS SIGNED)
LIMIT ?
FOR UPDATE SKIP LOCKED;
