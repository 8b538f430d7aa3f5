-- sluice checkpoint store, schema version 13 (SQLite): an operator may dismiss a discrepancy.
--
-- Dismissing is an operator decision (`sluice dismiss`, or the console's inbox), recorded in
-- `operator_actions` like every other, which now accepts `dismiss_discrepancy`. The case is
-- cleared and `dismissed_by` names the decision, so a case cleared by a match and one
-- dismissed stay apart, and a later pass that finds the same disagreement again (same payment,
-- kind and provider object) does not open it again. SQLite cannot change a CHECK constraint
-- in place, so the table is copied (nothing references it).
CREATE TABLE operator_actions_v13 (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT,
    item_key         TEXT,
    action           TEXT NOT NULL CHECK (action IN ('approve', 'deny', 'resolve_succeeded',
                                                     'resolve_retry', 'resolve_skip', 'cancel',
                                                     'retry', 'resume',
                                                     'dismiss_discrepancy')),
    provider_ref     TEXT,
    actor            TEXT NOT NULL,
    reason           TEXT,
    at               TEXT NOT NULL,
    steps_changed    INTEGER NOT NULL
);

INSERT INTO operator_actions_v13 SELECT id, run_id, step_id, item_key, action, provider_ref,
    actor, reason, at, steps_changed FROM operator_actions;
DROP TABLE operator_actions;
ALTER TABLE operator_actions_v13 RENAME TO operator_actions;
CREATE INDEX operator_actions_by_run ON operator_actions (run_id, id);

ALTER TABLE discrepancies ADD COLUMN dismissed_by INTEGER;
