-- Initial procreg schema for SQLite. Column names and order of processes,
-- events and grants mirror store.ProcessRow / EventRow / GrantRow so that the
-- sqlc models convert to store rows by a plain Go type conversion.
-- Times are epoch milliseconds; "" / 0 mean absent; TEXT compares byte-wise
-- (BINARY collation). Forward-only: there is no Down section.

-- +goose Up
CREATE TABLE processes (
    id                      TEXT    NOT NULL PRIMARY KEY,
    registration_hash       TEXT    NOT NULL DEFAULT '',
    disposition             TEXT    NOT NULL DEFAULT '',
    input_kind              TEXT    NOT NULL DEFAULT '',
    identity_kind           TEXT    NOT NULL DEFAULT '',
    definition_fingerprint  TEXT    NOT NULL DEFAULT '',
    spec                    TEXT    NOT NULL DEFAULT '',
    wake_target_session     TEXT    NOT NULL DEFAULT '',
    wake_target_frame       TEXT    NOT NULL DEFAULT '',
    created_at_ms           INTEGER NOT NULL DEFAULT 0,
    updated_at_ms           INTEGER NOT NULL DEFAULT 0,
    status                  TEXT    NOT NULL DEFAULT 'running',
    await_output            TEXT    NOT NULL DEFAULT '',
    external_ref_backend    TEXT    NOT NULL DEFAULT '',
    external_ref_id         TEXT    NOT NULL DEFAULT '',
    external_ref_metadata   TEXT    NOT NULL DEFAULT '',
    first_started_owner     TEXT    NOT NULL DEFAULT '',
    first_started_at_ms     INTEGER NOT NULL DEFAULT 0,
    abandon_requested       BOOLEAN NOT NULL DEFAULT FALSE,
    abandon_requested_by    TEXT    NOT NULL DEFAULT '',
    abandon_requested_at_ms INTEGER NOT NULL DEFAULT 0,
    abandon_reason          TEXT    NOT NULL DEFAULT '',
    waiting                 BOOLEAN NOT NULL DEFAULT FALSE,
    wait_kind               TEXT    NOT NULL DEFAULT '',
    wait_name               TEXT    NOT NULL DEFAULT '',
    wait_event_type         TEXT    NOT NULL DEFAULT '',
    wait_key                TEXT    NOT NULL DEFAULT '',
    wait_ordinal            INTEGER NOT NULL DEFAULT 0,
    wait_since_ms           INTEGER NOT NULL DEFAULT 0,
    last_sequence           INTEGER NOT NULL DEFAULT 0,
    lease_token             TEXT    NOT NULL DEFAULT '',
    lease_owner             TEXT    NOT NULL DEFAULT '',
    lease_owner_id          TEXT    NOT NULL DEFAULT '',
    lease_incarnation_id    TEXT    NOT NULL DEFAULT '',
    lease_fencing_token     INTEGER NOT NULL DEFAULT 0,
    lease_claimed_at_ms     INTEGER NOT NULL DEFAULT 0,
    lease_expires_at_ms     INTEGER NOT NULL DEFAULT 0
);
-- List by status (and the non-terminal sweep: status = 'running'), sorted by id.
CREATE INDEX processes_status_id ON processes (status, id);
-- List by status and waiting.
CREATE INDEX processes_status_waiting_id ON processes (status, waiting, id);
-- List by definition fingerprint, alone or with status and waiting. It has
-- more equality columns than processes_status_waiting_id, so a planner
-- without statistics prefers it whenever a definition is given.
CREATE INDEX processes_definition_status_waiting ON processes (definition_fingerprint, status, waiting, id);
-- Processes whose wake target is a session (session deletion).
CREATE INDEX processes_wake_target_session_id ON processes (wake_target_session, id);
-- Prune candidates: terminal status and updated before a cutoff.
CREATE INDEX processes_status_updated ON processes (status, updated_at_ms);

CREATE TABLE events (
    process_id      TEXT    NOT NULL REFERENCES processes (id),
    sequence        INTEGER NOT NULL,
    event_type      TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL DEFAULT '',
    replay_key      TEXT    NOT NULL DEFAULT '',
    terminal_state  TEXT    NOT NULL DEFAULT '',
    await_output    TEXT    NOT NULL DEFAULT '',
    has_wake        BOOLEAN NOT NULL DEFAULT FALSE,
    wake_input      TEXT    NOT NULL DEFAULT '',
    wake_dedupe_key TEXT    NOT NULL DEFAULT '',
    -- The scope the wake was delivered to ("" = no delivery): a replay
    -- returns the same delivery even after the target changed.
    wake_target_session TEXT NOT NULL DEFAULT '',
    wake_target_frame   TEXT NOT NULL DEFAULT '',
    occurred_at_ms  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (process_id, sequence)
) WITHOUT ROWID;
-- Count by type through a sequence.
CREATE INDEX events_process_type_sequence ON events (process_id, event_type, sequence);
-- Unacked wake events after a cursor.
CREATE INDEX events_process_wake_sequence ON events (process_id, has_wake, sequence);
-- Replay key lookup.
CREATE INDEX events_process_replay_key ON events (process_id, replay_key);

CREATE TABLE wake_acks (
    process_id TEXT    NOT NULL REFERENCES processes (id),
    sequence   INTEGER NOT NULL,
    PRIMARY KEY (process_id, sequence)
) WITHOUT ROWID;

CREATE TABLE grants (
    scope_id         TEXT NOT NULL,
    process_id       TEXT NOT NULL REFERENCES processes (id),
    session_id       TEXT NOT NULL DEFAULT '',
    descriptor_kind  TEXT NOT NULL DEFAULT '',
    descriptor_label TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope_id, process_id)
) WITHOUT ROWID;
-- Grants of a process, sorted by session then scope.
CREATE INDEX grants_process_session_scope ON grants (process_id, session_id, scope_id);
-- Grants of a session in any frame, sorted by process then scope.
CREATE INDEX grants_session_process_scope ON grants (session_id, process_id, scope_id);

-- Planner statistics for a typically shaped registry (about 100 events per
-- process, few processes per definition, a replay key naming one event).
-- Without them SQLite cannot tell a process id from a status and walks a
-- whole event log or status range where a narrow index exists. The shape,
-- not the counts, is what matters; a later ANALYZE replaces them with
-- measured figures. See https://sqlite.org/fileformat2.html#stat1tab.
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('processes', 'sqlite_autoindex_processes_1', '100000 1'),
    ('processes', 'processes_status_id', '100000 20000 1'),
    ('processes', 'processes_status_waiting_id', '100000 20000 10000 1'),
    ('processes', 'processes_definition_status_waiting', '100000 10 5 5 1'),
    ('processes', 'processes_wake_target_session_id', '100000 10 1'),
    ('processes', 'processes_status_updated', '100000 20000 2'),
    ('events', 'events', '10000000 100 1'),
    ('events', 'events_process_type_sequence', '10000000 100 20 1'),
    ('events', 'events_process_wake_sequence', '10000000 100 50 1'),
    ('events', 'events_process_replay_key', '10000000 100 1'),
    ('wake_acks', 'wake_acks', '100000 10 1'),
    ('grants', 'grants', '100000 10 1'),
    ('grants', 'grants_process_session_scope', '100000 2 1 1'),
    ('grants', 'grants_session_process_scope', '100000 10 2 1');
