-- The change feed's portable statements (Registry.ProcessesChangedSince; the
-- stamps and horizons are in schema/<dialect>/00003_changes.sql).

-- UpdateProcessLease writes the lease columns only, in driver.ProcessRow
-- order, then the key. A lease claim, renewal or release is not a record
-- change: it leaves change_pos (and so the process's place in the change
-- feed) as it is, and touches no indexed column. :exec like UpdateProcess
-- (registry.sql), for the same reason.
-- name: UpdateProcessLease :exec
UPDATE processes SET
    lease_token = sqlc.arg(lease_token),
    lease_owner = sqlc.arg(lease_owner),
    lease_owner_id = sqlc.arg(lease_owner_id),
    lease_incarnation_id = sqlc.arg(lease_incarnation_id),
    lease_fencing_token = sqlc.arg(lease_fencing_token),
    lease_claimed_at_ms = sqlc.arg(lease_claimed_at_ms),
    lease_expires_at_ms = sqlc.arg(lease_expires_at_ms)
WHERE id = sqlc.arg(id);
