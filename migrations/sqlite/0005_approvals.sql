-- sluice checkpoint store, schema version 5 (SQLite): who started a run, denials, and the
-- notifications outbox.
--
-- `started_by` is the operator (`sluice run --as`, default `$USER`) or the schedule that
-- started the run; runs created before this version have none. An approval step's policy
-- and the approvals it has gathered live in its waiting row's `request_json`; every decision
-- is also a row of `operator_actions`, which now accepts `deny`. SQLite cannot change a CHECK
-- constraint in place, so the table is copied (nothing references it).

ALTER TABLE runs ADD COLUMN started_by TEXT;

CREATE TABLE operator_actions_v5 (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT,
    item_key         TEXT,
    action           TEXT NOT NULL CHECK (action IN ('approve', 'deny', 'resolve_succeeded',
                                                     'resolve_retry', 'resolve_skip', 'cancel',
                                                     'retry')),
    provider_ref     TEXT,
    actor            TEXT NOT NULL,
    reason           TEXT,
    at               TEXT NOT NULL,
    steps_changed    INTEGER NOT NULL
);

INSERT INTO operator_actions_v5 SELECT id, run_id, step_id, item_key, action, provider_ref,
    actor, reason, at, steps_changed FROM operator_actions;
DROP TABLE operator_actions;
ALTER TABLE operator_actions_v5 RENAME TO operator_actions;
CREATE INDEX operator_actions_by_run ON operator_actions (run_id, id);

-- Notifications: a run keeps the `notify:` routes of its workflow (targets unresolved, `${VAR}`
-- and all, so no secret is stored). The transaction that changes a run's status adds one
-- `notifications` row per route that wants the new status (once per status: `notified_status`
-- is the last one notified, cleared when an operator reopens the run), and any process
-- delivers the due rows under a short claim, recording each attempt.
ALTER TABLE runs ADD COLUMN notify_json TEXT;
ALTER TABLE runs ADD COLUMN notified_status TEXT;

CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    step_id          TEXT,
    message          TEXT,
    target_json      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    claim_owner      TEXT,
    claim_expires_at TEXT,
    last_error       TEXT,
    delivered_at     TEXT
);

CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX notifications_by_run ON notifications (run_id, id);
