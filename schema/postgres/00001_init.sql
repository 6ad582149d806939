-- Initial procreg schema for PostgreSQL. Column names and order of processes,
-- events and grants mirror store.ProcessRow / EventRow / GrantRow so that the
-- sqlc models convert to store rows by a plain Go type conversion.
-- Times are epoch milliseconds; "" / 0 mean absent; every text column is
-- COLLATE "C" so ids, names and keys compare byte-wise with no padding.
-- Forward-only: there is no Down section.

-- +goose Up
CREATE TABLE processes (
    id                      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    registration_hash       TEXT COLLATE "C" NOT NULL DEFAULT '',
    disposition             TEXT COLLATE "C" NOT NULL DEFAULT '',
    input_kind              TEXT COLLATE "C" NOT NULL DEFAULT '',
    identity_kind           TEXT COLLATE "C" NOT NULL DEFAULT '',
    definition_fingerprint  TEXT COLLATE "C" NOT NULL DEFAULT '',
    spec                    TEXT COLLATE "C" NOT NULL DEFAULT '',
    wake_target_session     TEXT COLLATE "C" NOT NULL DEFAULT '',
    wake_target_frame       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at_ms           BIGINT  NOT NULL DEFAULT 0,
    updated_at_ms           BIGINT  NOT NULL DEFAULT 0,
    status                  TEXT COLLATE "C" NOT NULL DEFAULT 'running',
    await_output            TEXT COLLATE "C" NOT NULL DEFAULT '',
    external_ref_backend    TEXT COLLATE "C" NOT NULL DEFAULT '',
    external_ref_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    external_ref_metadata   TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_started_owner     TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_started_at_ms     BIGINT  NOT NULL DEFAULT 0,
    abandon_requested       BOOLEAN NOT NULL DEFAULT FALSE,
    abandon_requested_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    abandon_requested_at_ms BIGINT  NOT NULL DEFAULT 0,
    abandon_reason          TEXT COLLATE "C" NOT NULL DEFAULT '',
    waiting                 BOOLEAN NOT NULL DEFAULT FALSE,
    wait_kind               TEXT COLLATE "C" NOT NULL DEFAULT '',
    wait_name               TEXT COLLATE "C" NOT NULL DEFAULT '',
    wait_event_type         TEXT COLLATE "C" NOT NULL DEFAULT '',
    wait_key                TEXT COLLATE "C" NOT NULL DEFAULT '',
    wait_ordinal            BIGINT  NOT NULL DEFAULT 0,
    wait_since_ms           BIGINT  NOT NULL DEFAULT 0,
    last_sequence           BIGINT  NOT NULL DEFAULT 0,
    lease_token             TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_owner             TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_incarnation_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_fencing_token     BIGINT  NOT NULL DEFAULT 0,
    lease_claimed_at_ms     BIGINT  NOT NULL DEFAULT 0,
    lease_expires_at_ms     BIGINT  NOT NULL DEFAULT 0
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
    process_id      TEXT COLLATE "C" NOT NULL REFERENCES processes (id),
    sequence        BIGINT  NOT NULL,
    event_type      TEXT COLLATE "C" NOT NULL DEFAULT '',
    payload         TEXT COLLATE "C" NOT NULL DEFAULT '',
    replay_key      TEXT COLLATE "C" NOT NULL DEFAULT '',
    terminal_state  TEXT COLLATE "C" NOT NULL DEFAULT '',
    await_output    TEXT COLLATE "C" NOT NULL DEFAULT '',
    has_wake        BOOLEAN NOT NULL DEFAULT FALSE,
    wake_input      TEXT COLLATE "C" NOT NULL DEFAULT '',
    wake_dedupe_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- The scope the wake was delivered to ("" = no delivery): a replay
    -- returns the same delivery even after the target changed.
    wake_target_session TEXT COLLATE "C" NOT NULL DEFAULT '',
    wake_target_frame   TEXT COLLATE "C" NOT NULL DEFAULT '',
    occurred_at_ms  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (process_id, sequence)
);
-- Count by type through a sequence.
CREATE INDEX events_process_type_sequence ON events (process_id, event_type, sequence);
-- Unacked wake events after a cursor.
CREATE INDEX events_process_wake_sequence ON events (process_id, has_wake, sequence);
-- Replay key lookup.
CREATE INDEX events_process_replay_key ON events (process_id, replay_key);

CREATE TABLE wake_acks (
    process_id TEXT COLLATE "C" NOT NULL REFERENCES processes (id),
    sequence   BIGINT  NOT NULL,
    PRIMARY KEY (process_id, sequence)
);

CREATE TABLE grants (
    scope_id         TEXT COLLATE "C" NOT NULL,
    process_id       TEXT COLLATE "C" NOT NULL REFERENCES processes (id),
    session_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    descriptor_kind  TEXT COLLATE "C" NOT NULL DEFAULT '',
    descriptor_label TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (scope_id, process_id)
);
-- Grants of a process, sorted by session then scope.
CREATE INDEX grants_process_session_scope ON grants (process_id, session_id, scope_id);
-- Grants of a session in any frame, sorted by process then scope.
CREATE INDEX grants_session_process_scope ON grants (session_id, process_id, scope_id);

-- Early wake for waiters (package await), opt-in: a new event notifies
-- channel procreg_events with its process id only when the writing session
-- has procreg.notify = on (a DSN parameter, or ALTER DATABASE / ROLE … SET
-- procreg.notify = on for every writer). Off, the trigger costs a setting
-- lookup; on, every commit that notifies takes PostgreSQL's cluster-wide
-- notify lock, which is why it is not the default. Ids are at most 255
-- bytes, well under NOTIFY's 8000-byte payload limit. NOTIFY is
-- transactional, so a listener hears of an event only once it is committed
-- and readable; it runs inside the INSERT, so AppendEvent sends no extra
-- statement. Listeners (backends/postgres) treat a notification as a hint to
-- re-read, never as the fact; polling covers any notification not sent.
-- +goose StatementBegin
CREATE FUNCTION procreg_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('procreg.notify', true) = 'on' THEN
        PERFORM pg_notify('procreg_events', NEW.process_id);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION procreg_notify_event();
