-- ClaimNext (SPEC section 10): the candidates of a batch claim, one statement per
-- filter combination that sets status (always 'running'), as for the page
-- family (sqlkit.Filter). Each walks the running rows in id order
-- (processes_status_id, or processes_status_waiting_id with a waiting
-- filter) and stops after row_limit claimable rows. The lease test reads
-- the database clock of the statement (NOW() is fixed for one statement)
-- and returns it as now_ms, the lease clock of the engine's decisions (as
-- LockProcess). FOR UPDATE SKIP LOCKED: rows another transaction holds are
-- skipped, not waited for, so concurrent claimers take disjoint rows; a
-- locking read sees the latest committed row, so leases a concurrent claim
-- committed are seen. At REPEATABLE READ InnoDB keeps the locks of every
-- index entry the scan passed (also leased rows it did not return) until
-- the claim commits, so a fenced write to such a row waits for that one
-- short transaction. The statement is a pre-filter: the engine decides
-- every row again (core.Claimable).

-- name: ClaimCandidatesByStatus :many
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE status = sqlc.arg(status)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED))
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED;

-- name: ClaimCandidatesByStatusWaiting :many
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED))
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED;

-- name: ClaimCandidatesByDefinitionStatus :many
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED))
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED;

-- name: ClaimCandidatesByDefinitionStatusWaiting :many
SELECT sqlc.embed(processes),
       CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED) AS now_ms
FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED))
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED;
