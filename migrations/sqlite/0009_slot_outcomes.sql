-- sluice checkpoint store, schema version 9 (SQLite): what became of every schedule slot, and
-- notifications that belong to a schedule rather than to a run.
--
-- A slot row now says what became of the slot: `fired` (its run is `run_id`), `skipped` (the
-- overlap policy passed over it while another run was live), `missed` (no scheduler watched
-- when it came due and `catch_up` did not fire it) or `failed` (its run could not be
-- prepared); `reason` says why for the last three. Rows claimed before this version without a
-- run were skipped ones. A missed slot has no run but owes a `schedule_missed` notification,
-- so a notification may now belong to a workflow's schedule instead of a run: `run_id` may be
-- empty when `workflow_name` is set. SQLite cannot change a column's nullability in place, so
-- `notifications` is copied (nothing references it), keeping every row, id and index.

ALTER TABLE schedule_slots ADD COLUMN outcome TEXT NOT NULL DEFAULT 'fired'
    CHECK (outcome IN ('fired', 'skipped', 'missed', 'failed'));
ALTER TABLE schedule_slots ADD COLUMN reason TEXT;

UPDATE schedule_slots SET outcome = 'skipped', reason = 'another run was live (overlap: skip)'
WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = schedule_slots.run_id);

CREATE TABLE notifications_v9 (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT REFERENCES runs (id) ON DELETE CASCADE,
    workflow_name    TEXT,
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
    delivered_at     TEXT,
    CHECK (run_id IS NOT NULL OR workflow_name IS NOT NULL)
);

INSERT INTO notifications_v9 (id, run_id, event, step_id, message, target_json, created_at,
    state, attempts, next_attempt_at, claim_owner, claim_expires_at, last_error, delivered_at)
SELECT id, run_id, event, step_id, message, target_json, created_at, state, attempts,
    next_attempt_at, claim_owner, claim_expires_at, last_error, delivered_at FROM notifications;

DROP TABLE notifications;
ALTER TABLE notifications_v9 RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX notifications_by_run ON notifications (run_id, id);
