-- ClaimNext (SPEC section 10): the candidates of a batch claim, one statement per
-- filter combination that sets status (always 'running'), as for the page
-- family (sqlkit.Filter). Each walks the running rows in id order and stops
-- after row_limit claimable rows. No lock: BEGIN IMMEDIATE makes the
-- transaction the only writer. Leases are decided by the injected client
-- clock (sqlkit.Dialect.LeaseClock), so the adapter passes it as now_ms;
-- the now_ms column is the database clock, selected only so that every
-- dialect's rows have one shape (LeaseNow returns the lease clock). The
-- statement is a pre-filter: the engine decides every row again
-- (core.Claimable).

-- name: ClaimCandidatesByStatus :many
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE status = sqlc.arg(status)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= sqlc.arg(now_ms))
ORDER BY id
LIMIT sqlc.arg(row_limit);

-- name: ClaimCandidatesByStatusWaiting :many
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= sqlc.arg(now_ms))
ORDER BY id
LIMIT sqlc.arg(row_limit);

-- name: ClaimCandidatesByDefinitionStatus :many
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= sqlc.arg(now_ms))
ORDER BY id
LIMIT sqlc.arg(row_limit);

-- name: ClaimCandidatesByDefinitionStatusWaiting :many
SELECT sqlc.embed(processes),
       CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms
FROM processes
WHERE definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND status = sqlc.arg(status)
  AND waiting = sqlc.arg(waiting)
  AND disposition <> 'externally_owned'
  AND (disposition <> 'owner_bound' OR first_started_owner = '')
  AND (lease_token = '' OR lease_expires_at_ms <= sqlc.arg(now_ms))
ORDER BY id
LIMIT sqlc.arg(row_limit);
