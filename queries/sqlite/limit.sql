-- SQLite's statements with a named LIMIT parameter, which PostgreSQL spells
-- the same: sqlc.yaml compiles this file for postgresql too, by path. sqlc's
-- MySQL parser takes only a bare ? in LIMIT; queries/mysql spells these its
-- way.

-- RecentEventsDesc returns the tail newest first; the adapter reverses it.
-- name: RecentEventsDesc :many
SELECT * FROM events
WHERE process_id = sqlc.arg(process_id)
ORDER BY sequence DESC
LIMIT sqlc.arg(row_limit);
