-- sluice checkpoint store, schema version 1 (SQLite).
--
-- Portable on purpose: the Postgres schema is the same tables and columns with TIMESTAMPTZ for the
-- *_at columns, BIGINT identities for the INTEGER ids and JSONB allowed for the *_json columns.
-- Times are stored as fixed-width UTC text (`2025-01-31T09:00:00.000000Z`) so that text order is
-- time order. Amounts never appear as numbers: they live only inside the JSON text columns.

-- Marks the file as a sluice database ('sluc'), so that opening someone else's SQLite file is
-- refused instead of migrated. SQLite-only; Postgres uses its own schema name.
PRAGMA application_id = 1936487779;

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    workflow_name    TEXT NOT NULL,
    workflow_path    TEXT NOT NULL,
    workflow_hash    TEXT NOT NULL,
    inputs_hash      TEXT NOT NULL,
    inputs_json      TEXT NOT NULL,
    plan_hash        TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'succeeded',
                                                     'failed', 'needs_attention', 'cancelled')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    scheduled_for    TEXT,
    error            TEXT
);

CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at);
CREATE INDEX runs_by_status ON runs (status, created_at);

CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    provider         TEXT NOT NULL,
    dedupe_key       TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    object_id        TEXT,
    payload          TEXT NOT NULL,
    signature_ok     BOOLEAN NOT NULL,
    received_at      TEXT NOT NULL,
    matched_run_id   TEXT,
    matched_step_id  TEXT,
    matched_item_key TEXT,
    CONSTRAINT events_dedupe UNIQUE (provider, dedupe_key)
);

CREATE INDEX events_by_object ON events (provider, object_id);
CREATE INDEX events_by_type ON events (provider, event_type);

-- One row per step, and per item of a `for_each` step (`item_key` is '' otherwise).
-- `seq` is the position in the plan (steps in execution order, items in input order).
CREATE TABLE step_runs (
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT NOT NULL,
    item_key         TEXT NOT NULL DEFAULT '',
    seq              INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'dispatching', 'in_flight', 'waiting',
                                                   'succeeded', 'failed', 'skipped',
                                                   'needs_attention', 'cancelled')),
    idempotency_key  TEXT,
    request_digest   TEXT,
    request_json     TEXT,
    provider_ref     TEXT,
    checkpoint_json  TEXT,
    output_json      TEXT,
    error_class      TEXT,
    error_message    TEXT,
    skip_reason      TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    deadline_at      TEXT,
    event_id         INTEGER REFERENCES events (id),
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, item_key)
);

CREATE UNIQUE INDEX step_runs_by_seq ON step_runs (run_id, seq);
CREATE INDEX step_runs_by_state ON step_runs (run_id, state);
CREATE INDEX step_runs_waiting ON step_runs (state) WHERE state = 'waiting';

-- Every provider call (create, commit, lookup, ...), kept for audit and for `sluice status`.
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    item_key         TEXT NOT NULL,
    attempt_no       INTEGER NOT NULL,
    operation        TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request_digest   TEXT,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    outcome          TEXT NOT NULL,
    error_class      TEXT,
    error_message    TEXT,
    http_status      INTEGER,
    FOREIGN KEY (run_id, step_id, item_key)
        REFERENCES step_runs (run_id, step_id, item_key) ON DELETE CASCADE
);

CREATE INDEX attempts_by_step ON attempts (run_id, step_id, item_key, attempt_no);

-- Approvals and every other operator decision, with who, when and why.
CREATE TABLE operator_actions (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT,
    item_key         TEXT,
    action           TEXT NOT NULL CHECK (action IN ('approve', 'resolve_succeeded', 'resolve_retry',
                                                     'resolve_skip', 'cancel', 'retry')),
    provider_ref     TEXT,
    actor            TEXT NOT NULL,
    reason           TEXT,
    at               TEXT NOT NULL,
    steps_changed    INTEGER NOT NULL
);

CREATE INDEX operator_actions_by_run ON operator_actions (run_id, id);

-- A schedule slot fires once: the first claimer inserts the row, every later claimer conflicts.
CREATE TABLE schedule_slots (
    workflow_name    TEXT NOT NULL,
    slot_at          TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    claimed_at       TEXT NOT NULL,
    PRIMARY KEY (workflow_name, slot_at)
);
