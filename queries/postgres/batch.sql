-- ClaimNext (SPEC section 10): the candidates of a batch claim, one statement per
-- filter combination that sets status (always 'running'), as for the page
-- family (sqlkit.Filter): an optional-filter OR in one statement defeats
-- the indexes. Each walks the running rows in id order (processes_status_id,
-- or processes_status_waiting_id with a waiting filter) and stops after
-- row_limit claimable rows; the lease test reads the database clock once
-- (the derived table "clock", evaluated once per statement) and returns it
-- as now_ms, the lease clock of the engine's decisions (as LockProcess).
-- FOR UPDATE OF processes SKIP LOCKED: rows another transaction holds are
-- skipped, not waited for, so concurrent claimers take disjoint rows; rows
-- a concurrent claim leased and committed meanwhile are re-checked against
-- the WHERE clause (EvalPlanQual) and dropped. The statement is a
-- pre-filter: the engine decides every row again (core.Claimable).

-- name: ClaimCandidatesByStatus :many
SELECT sqlc.embed(processes), clock.now_ms
FROM processes,
     (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock
WHERE processes.status = sqlc.arg(status)
  AND processes.disposition <> 'externally_owned'
  AND (processes.disposition <> 'owner_bound' OR processes.first_started_owner = '')
  AND (processes.lease_token = '' OR processes.lease_expires_at_ms <= clock.now_ms)
ORDER BY processes.id
LIMIT sqlc.arg(row_limit)
FOR UPDATE OF processes SKIP LOCKED;

-- name: ClaimCandidatesByStatusWaiting :many
SELECT sqlc.embed(processes), clock.now_ms
FROM processes,
     (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock
WHERE processes.status = sqlc.arg(status)
  AND processes.waiting = sqlc.arg(waiting)
  AND processes.disposition <> 'externally_owned'
  AND (processes.disposition <> 'owner_bound' OR processes.first_started_owner = '')
  AND (processes.lease_token = '' OR processes.lease_expires_at_ms <= clock.now_ms)
ORDER BY processes.id
LIMIT sqlc.arg(row_limit)
FOR UPDATE OF processes SKIP LOCKED;

-- name: ClaimCandidatesByDefinitionStatus :many
SELECT sqlc.embed(processes), clock.now_ms
FROM processes,
     (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock
WHERE processes.definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND processes.status = sqlc.arg(status)
  AND processes.disposition <> 'externally_owned'
  AND (processes.disposition <> 'owner_bound' OR processes.first_started_owner = '')
  AND (processes.lease_token = '' OR processes.lease_expires_at_ms <= clock.now_ms)
ORDER BY processes.id
LIMIT sqlc.arg(row_limit)
FOR UPDATE OF processes SKIP LOCKED;

-- name: ClaimCandidatesByDefinitionStatusWaiting :many
SELECT sqlc.embed(processes), clock.now_ms
FROM processes,
     (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock
WHERE processes.definition_fingerprint = sqlc.arg(definition_fingerprint)
  AND processes.status = sqlc.arg(status)
  AND processes.waiting = sqlc.arg(waiting)
  AND processes.disposition <> 'externally_owned'
  AND (processes.disposition <> 'owner_bound' OR processes.first_started_owner = '')
  AND (processes.lease_token = '' OR processes.lease_expires_at_ms <= clock.now_ms)
ORDER BY processes.id
LIMIT sqlc.arg(row_limit)
FOR UPDATE OF processes SKIP LOCKED;

-- UpdateProcessLeases writes the lease columns of several rows in one
-- statement (the leases of one ClaimNext): one array per column of
-- UpdateProcessLease, zipped by unnest in the select list (set-returning
-- functions there advance together; the arrays have one length). Like UpdateProcessLease it leaves
-- change_pos alone: lease writes are not record changes. Optional
-- (internal/dialectgen.OptionalQueries): a dialect without it writes one
-- UpdateProcessLease per row.
-- name: UpdateProcessLeases :exec
UPDATE processes SET
    lease_token = u.lease_token,
    lease_owner = u.lease_owner,
    lease_owner_id = u.lease_owner_id,
    lease_incarnation_id = u.lease_incarnation_id,
    lease_fencing_token = u.lease_fencing_token,
    lease_claimed_at_ms = u.lease_claimed_at_ms,
    lease_expires_at_ms = u.lease_expires_at_ms
FROM (SELECT unnest(sqlc.arg(lease_token)::text[]) AS lease_token,
             unnest(sqlc.arg(lease_owner)::text[]) AS lease_owner,
             unnest(sqlc.arg(lease_owner_id)::text[]) AS lease_owner_id,
             unnest(sqlc.arg(lease_incarnation_id)::text[]) AS lease_incarnation_id,
             unnest(sqlc.arg(lease_fencing_token)::bigint[]) AS lease_fencing_token,
             unnest(sqlc.arg(lease_claimed_at_ms)::bigint[]) AS lease_claimed_at_ms,
             unnest(sqlc.arg(lease_expires_at_ms)::bigint[]) AS lease_expires_at_ms,
             unnest(sqlc.arg(id)::text[]) AS id) AS u
WHERE processes.id = u.id;
