-- Keyset pages (ListProcessesPage, ListNonTerminalPage) and counts
-- (CountProcesses): one statement per filter combination, as for the
-- ListProcesses* family, so each is an index range.
--
-- LastProcessID* captures a scan's inclusive upper bound: the greatest
-- matching id, one index probe per index prefix the filter spans (a filter
-- that leaves status or waiting open spans several prefixes of its index;
-- each arm reads the last entry of one). No row: the filter matches
-- nothing.
--
-- CountProcesses* count over the filter's index; PostgreSQL reads it with
-- an index-only scan (visibility map permitting: autovacuum keeps it).
-- The page statements are in queries/sqlite/page.sql (PostgreSQL spells
-- them alike) and queries/mysql/page.sql (a bare ? in LIMIT).

-- name: LastProcessIDAll :one
SELECT id FROM processes
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByStatus :one
SELECT id FROM processes
WHERE status = sqlc.arg(status)
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByStatusWaiting :one
SELECT id FROM processes
WHERE status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByWaiting :one
SELECT a1.id FROM (SELECT p.id FROM processes AS p
    WHERE p.status = 'running' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a1
UNION ALL
SELECT a2.id FROM (SELECT p.id FROM processes AS p
    WHERE p.status = 'completed' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a2
UNION ALL
SELECT a3.id FROM (SELECT p.id FROM processes AS p
    WHERE p.status = 'failed' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a3
UNION ALL
SELECT a4.id FROM (SELECT p.id FROM processes AS p
    WHERE p.status = 'cancelled' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a4
UNION ALL
SELECT a5.id FROM (SELECT p.id FROM processes AS p
    WHERE p.status = 'abandoned' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a5
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByDefinition :one
SELECT a1.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a1
UNION ALL
SELECT a2.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a2
UNION ALL
SELECT a3.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a3
UNION ALL
SELECT a4.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a4
UNION ALL
SELECT a5.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a5
UNION ALL
SELECT a6.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a6
UNION ALL
SELECT a7.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a7
UNION ALL
SELECT a8.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a8
UNION ALL
SELECT a9.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a9
UNION ALL
SELECT a10.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a10
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByDefinitionStatus :one
SELECT a1.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = sqlc.arg(status) AND p.waiting = FALSE
    ORDER BY p.id DESC LIMIT 1) AS a1
UNION ALL
SELECT a2.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = sqlc.arg(status) AND p.waiting = TRUE
    ORDER BY p.id DESC LIMIT 1) AS a2
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByDefinitionWaiting :one
SELECT a1.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a1
UNION ALL
SELECT a2.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a2
UNION ALL
SELECT a3.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a3
UNION ALL
SELECT a4.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a4
UNION ALL
SELECT a5.id FROM (SELECT p.id FROM processes AS p
    WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = sqlc.arg(waiting)
    ORDER BY p.id DESC LIMIT 1) AS a5
ORDER BY id DESC
LIMIT 1;

-- name: LastProcessIDByDefinitionStatusWaiting :one
SELECT id FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
ORDER BY id DESC
LIMIT 1;

-- name: CountProcessesAll :one
SELECT COUNT(*) FROM processes;

-- name: CountProcessesByStatus :one
SELECT COUNT(*) FROM processes
WHERE status = sqlc.arg(status);

-- name: CountProcessesByStatusWaiting :one
SELECT COUNT(*) FROM processes
WHERE status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting);

-- name: CountProcessesByWaiting :one
SELECT COUNT(*) FROM processes
WHERE status IN ('running', 'completed', 'failed', 'cancelled', 'abandoned')
  AND waiting = sqlc.arg(waiting);

-- name: CountProcessesByDefinition :one
SELECT COUNT(*) FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint);

-- name: CountProcessesByDefinitionStatus :one
SELECT COUNT(*) FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status);

-- name: CountProcessesByDefinitionWaiting :one
SELECT COUNT(*) FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND waiting = sqlc.arg(waiting);

-- name: CountProcessesByDefinitionStatusWaiting :one
SELECT COUNT(*) FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting);

