-- ListProcessesPage / ListNonTerminalPage: the rows with after_id < id <=
-- bound_id matching a filter, in id order, at most row_limit. A filter whose
-- index orders its rows by id (all, status, status+waiting,
-- definition+status+waiting) is one index range. A filter that leaves status
-- or waiting open spans several prefixes of its index: each prefix is an
-- arm reading at most row_limit ids from the covering index, and the page
-- is the first row_limit of their union, fetched by primary key. A page
-- costs O(arms x row_limit) index entries, never a walk of the filter.
-- MySQL's spelling, which MariaDB shares (ported by hand from
-- queries/mysql/page.sql): sqlc's MySQL parser takes only a bare ? in LIMIT
-- (each becomes a RowLimit parameter of its own; the adapter sets them all).
-- MariaDB refuses LIMIT directly inside IN (subquery) (1235), so each arm's
-- LIMIT sits in a derived table, as here.

-- name: PageProcessesAll :many
SELECT * FROM processes
WHERE id > sqlc.arg(after_id)
  AND id <= sqlc.arg(bound_id)
ORDER BY id
LIMIT ?;

-- name: PageProcessesByStatus :many
SELECT * FROM processes
WHERE status = sqlc.arg(status)
  AND id > sqlc.arg(after_id)
  AND id <= sqlc.arg(bound_id)
ORDER BY id
LIMIT ?;

-- name: PageProcessesByStatusWaiting :many
SELECT * FROM processes
WHERE status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND id > sqlc.arg(after_id)
  AND id <= sqlc.arg(bound_id)
ORDER BY id
LIMIT ?;

-- name: PageProcessesByWaiting :many
SELECT sqlc.embed(processes) FROM processes
WHERE processes.id IN (
    SELECT a1.id FROM (SELECT p.id FROM processes AS p
        WHERE p.status = 'running' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a1
    UNION ALL
    SELECT a2.id FROM (SELECT p.id FROM processes AS p
        WHERE p.status = 'completed' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a2
    UNION ALL
    SELECT a3.id FROM (SELECT p.id FROM processes AS p
        WHERE p.status = 'failed' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a3
    UNION ALL
    SELECT a4.id FROM (SELECT p.id FROM processes AS p
        WHERE p.status = 'cancelled' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a4
    UNION ALL
    SELECT a5.id FROM (SELECT p.id FROM processes AS p
        WHERE p.status = 'abandoned' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a5
)
ORDER BY processes.id
LIMIT ?;

-- name: PageProcessesByDefinition :many
SELECT sqlc.embed(processes) FROM processes
WHERE processes.id IN (
    SELECT a1.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a1
    UNION ALL
    SELECT a2.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a2
    UNION ALL
    SELECT a3.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a3
    UNION ALL
    SELECT a4.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a4
    UNION ALL
    SELECT a5.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a5
    UNION ALL
    SELECT a6.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a6
    UNION ALL
    SELECT a7.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a7
    UNION ALL
    SELECT a8.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a8
    UNION ALL
    SELECT a9.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a9
    UNION ALL
    SELECT a10.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a10
)
ORDER BY processes.id
LIMIT ?;

-- name: PageProcessesByDefinitionStatus :many
SELECT sqlc.embed(processes) FROM processes
WHERE processes.id IN (
    SELECT a1.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = sqlc.arg(status) AND p.waiting = FALSE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a1
    UNION ALL
    SELECT a2.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = sqlc.arg(status) AND p.waiting = TRUE AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a2
)
ORDER BY processes.id
LIMIT ?;

-- name: PageProcessesByDefinitionWaiting :many
SELECT sqlc.embed(processes) FROM processes
WHERE processes.id IN (
    SELECT a1.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'running' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a1
    UNION ALL
    SELECT a2.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'completed' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a2
    UNION ALL
    SELECT a3.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'failed' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a3
    UNION ALL
    SELECT a4.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'cancelled' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a4
    UNION ALL
    SELECT a5.id FROM (SELECT p.id FROM processes AS p
        WHERE p.definition_fingerprint = sqlc.arg(definition_fingerprint) AND p.status = 'abandoned' AND p.waiting = sqlc.arg(waiting) AND p.id > sqlc.arg(after_id) AND p.id <= sqlc.arg(bound_id)
        ORDER BY p.id LIMIT ?) AS a5
)
ORDER BY processes.id
LIMIT ?;

-- name: PageProcessesByDefinitionStatusWaiting :many
SELECT * FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND id > sqlc.arg(after_id)
  AND id <= sqlc.arg(bound_id)
ORDER BY id
LIMIT ?;

