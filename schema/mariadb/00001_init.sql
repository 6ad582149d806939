-- Initial procreg schema for MariaDB (the mysql dialect's, idempotent). Column names and order of
-- processes, events and grants mirror store.ProcessRow / EventRow / GrantRow
-- so that the sqlc models convert to store rows by a plain Go type conversion
-- (sqlc.yaml maps VARBINARY/LONGBLOB to string).
-- Ids, names and keys are VARBINARY: byte-wise comparison with no trailing-
-- space padding on both MySQL 8 and MariaDB (utf8mb4_bin pads). Documents and
-- free text are LONGBLOB so any bytes round-trip unchanged. Times are epoch
-- milliseconds; "" / 0 mean absent. Forward-only: there is no Down section.

-- mariadb: the same types as mysql (VARBINARY/LONGBLOB compare byte-wise on
-- MariaDB as on MySQL 8), every table InnoDB with a primary key (Galera
-- replicates only InnoDB and needs a key on every table), and every
-- statement idempotent (IF NOT EXISTS, INSERT IGNORE, OR REPLACE): the
-- migration lock (backends/mariadb/migrate.go) serializes migrators across
-- the nodes, but on a cluster each DDL statement is atomic on its own (TOI),
-- not the file, so a migrator that died half-way is simply run again.
-- +goose Up
CREATE TABLE IF NOT EXISTS processes (
    id                      VARBINARY(255)  NOT NULL PRIMARY KEY,
    registration_hash       VARBINARY(64)   NOT NULL DEFAULT '',
    disposition             VARBINARY(64)   NOT NULL DEFAULT '',
    input_kind              VARBINARY(64)   NOT NULL DEFAULT '',
    identity_kind           VARBINARY(1024) NOT NULL DEFAULT '',
    definition_fingerprint  VARBINARY(64)   NOT NULL DEFAULT '',
    spec                    LONGBLOB        NOT NULL DEFAULT (''),
    wake_target_session     VARBINARY(1024) NOT NULL DEFAULT '',
    wake_target_frame       VARBINARY(1024) NOT NULL DEFAULT '',
    created_at_ms           BIGINT          NOT NULL DEFAULT 0,
    updated_at_ms           BIGINT          NOT NULL DEFAULT 0,
    status                  VARBINARY(32)   NOT NULL DEFAULT 'running',
    await_output            LONGBLOB        NOT NULL DEFAULT (''),
    external_ref_backend    VARBINARY(1024) NOT NULL DEFAULT '',
    external_ref_id         VARBINARY(1024) NOT NULL DEFAULT '',
    external_ref_metadata   LONGBLOB        NOT NULL DEFAULT (''),
    first_started_owner     LONGBLOB        NOT NULL DEFAULT (''),
    first_started_at_ms     BIGINT          NOT NULL DEFAULT 0,
    abandon_requested       BOOLEAN         NOT NULL DEFAULT FALSE,
    abandon_requested_by    VARBINARY(1024) NOT NULL DEFAULT '',
    abandon_requested_at_ms BIGINT          NOT NULL DEFAULT 0,
    abandon_reason          LONGBLOB        NOT NULL DEFAULT (''),
    waiting                 BOOLEAN         NOT NULL DEFAULT FALSE,
    wait_kind               VARBINARY(64)   NOT NULL DEFAULT '',
    wait_name               VARBINARY(1024) NOT NULL DEFAULT '',
    wait_event_type         VARBINARY(1024) NOT NULL DEFAULT '',
    wait_key                VARBINARY(1024) NOT NULL DEFAULT '',
    wait_ordinal            BIGINT          NOT NULL DEFAULT 0,
    wait_since_ms           BIGINT          NOT NULL DEFAULT 0,
    last_sequence           BIGINT          NOT NULL DEFAULT 0,
    lease_token             VARBINARY(255)  NOT NULL DEFAULT '',
    lease_owner             LONGBLOB        NOT NULL DEFAULT (''),
    lease_owner_id          VARBINARY(1024) NOT NULL DEFAULT '',
    lease_incarnation_id    VARBINARY(1024) NOT NULL DEFAULT '',
    lease_fencing_token     BIGINT          NOT NULL DEFAULT 0,
    lease_claimed_at_ms     BIGINT          NOT NULL DEFAULT 0,
    lease_expires_at_ms     BIGINT          NOT NULL DEFAULT 0,
    -- List by status (and the non-terminal sweep: status = 'running'), sorted by id.
    INDEX processes_status_id (status, id),
    -- List by status and waiting.
    INDEX processes_status_waiting_id (status, waiting, id),
    -- List by definition fingerprint, alone or with status and waiting.
    INDEX processes_definition_status_waiting (definition_fingerprint, status, waiting, id),
    -- Processes whose wake target is a session (session deletion).
    INDEX processes_wake_target_session_id (wake_target_session, id),
    -- Prune candidates: terminal status and updated before a cutoff.
    INDEX processes_status_updated (status, updated_at_ms)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS events (
    process_id      VARBINARY(255)  NOT NULL,
    sequence        BIGINT          NOT NULL,
    event_type      VARBINARY(1024) NOT NULL DEFAULT '',
    payload         LONGBLOB        NOT NULL DEFAULT (''),
    replay_key      VARBINARY(1024) NOT NULL DEFAULT '',
    terminal_state  VARBINARY(32)   NOT NULL DEFAULT '',
    await_output    LONGBLOB        NOT NULL DEFAULT (''),
    has_wake        BOOLEAN         NOT NULL DEFAULT FALSE,
    wake_input      LONGBLOB        NOT NULL DEFAULT (''),
    wake_dedupe_key LONGBLOB        NOT NULL DEFAULT (''),
    -- The scope the wake was delivered to ("" = no delivery): a replay
    -- returns the same delivery even after the target changed.
    wake_target_session VARBINARY(1024) NOT NULL DEFAULT '',
    wake_target_frame   VARBINARY(1024) NOT NULL DEFAULT '',
    occurred_at_ms  BIGINT          NOT NULL DEFAULT 0,
    PRIMARY KEY (process_id, sequence),
    -- Count by type through a sequence.
    INDEX events_process_type_sequence (process_id, event_type, sequence),
    -- Unacked wake events after a cursor.
    INDEX events_process_wake_sequence (process_id, has_wake, sequence),
    -- Replay key lookup.
    INDEX events_process_replay_key (process_id, replay_key),
    CONSTRAINT events_process FOREIGN KEY (process_id) REFERENCES processes (id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS wake_acks (
    process_id VARBINARY(255) NOT NULL,
    sequence   BIGINT         NOT NULL,
    PRIMARY KEY (process_id, sequence),
    CONSTRAINT wake_acks_process FOREIGN KEY (process_id) REFERENCES processes (id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS grants (
    scope_id         VARBINARY(1024) NOT NULL,
    process_id       VARBINARY(255)  NOT NULL,
    session_id       VARBINARY(1024) NOT NULL DEFAULT '',
    descriptor_kind  VARBINARY(1024) NOT NULL DEFAULT '',
    descriptor_label LONGBLOB        NOT NULL DEFAULT (''),
    PRIMARY KEY (scope_id, process_id),
    -- Grants of a process, sorted by session then scope.
    INDEX grants_process_session_scope (process_id, session_id, scope_id),
    -- Grants of a session in any frame, sorted by process then scope.
    INDEX grants_session_process_scope (session_id, process_id, scope_id),
    CONSTRAINT grants_process FOREIGN KEY (process_id) REFERENCES processes (id)
) ENGINE = InnoDB;
