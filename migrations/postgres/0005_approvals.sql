-- sluice checkpoint store, schema version 5 (Postgres): who started a run, and denials, as in
-- migrations/sqlite/0005_approvals.sql.

ALTER TABLE runs ADD COLUMN started_by TEXT;

ALTER TABLE operator_actions DROP CONSTRAINT operator_actions_action_check;
ALTER TABLE operator_actions ADD CONSTRAINT operator_actions_action_check
    CHECK (action IN ('approve', 'deny', 'resolve_succeeded', 'resolve_retry', 'resolve_skip',
                      'cancel', 'retry'));
