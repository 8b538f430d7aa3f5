-- no-transaction
-- sluice checkpoint store, schema version 8 (SQLite): the run statuses of compensation.
--
-- A workflow with `on_failure: compensate` undoes what succeeded when a step fails for good:
-- its run is `compensating` while the undo path runs, then `compensated` (everything undone)
-- or `compensation_failed` (an operator case). The compensations themselves are step rows
-- (`<step>.compensate`), created with the run. SQLite cannot change a CHECK constraint in
-- place, so `runs` is copied; other tables reference it, so the copy runs with foreign keys
-- off (they cannot be switched inside a transaction, hence `no-transaction` and the explicit
-- BEGIN/COMMIT); the copy keeps every id, so every reference still holds.

PRAGMA foreign_keys = OFF;

BEGIN;

CREATE TABLE runs_v8 (
    id               TEXT PRIMARY KEY,
    workflow_name    TEXT NOT NULL,
    workflow_path    TEXT NOT NULL,
    workflow_hash    TEXT NOT NULL,
    inputs_hash      TEXT NOT NULL,
    plan_hash        TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'succeeded',
                                                     'failed', 'needs_attention', 'cancelled',
                                                     'compensating', 'compensated',
                                                     'compensation_failed')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    scheduled_for    TEXT,
    error            TEXT,
    started_by       TEXT,
    notify_json      TEXT,
    notified_status  TEXT
);

INSERT INTO runs_v8 (id, workflow_name, workflow_path, workflow_hash, inputs_hash, plan_hash,
    status, created_at, updated_at, finished_at, lease_owner, lease_expires_at, scheduled_for,
    error, started_by, notify_json, notified_status)
SELECT id, workflow_name, workflow_path, workflow_hash, inputs_hash, plan_hash, status,
    created_at, updated_at, finished_at, lease_owner, lease_expires_at, scheduled_for, error,
    started_by, notify_json, notified_status FROM runs;

DROP TABLE runs;
ALTER TABLE runs_v8 RENAME TO runs;
CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at);
CREATE INDEX runs_by_status ON runs (status, created_at);

COMMIT;

PRAGMA foreign_keys = ON;
