-- sluice checkpoint store, schema version 13 (Postgres): an operator may dismiss a discrepancy.
--
-- Dismissing is an operator decision (`sluice dismiss`, or the console's inbox), recorded in
-- `operator_actions` like every other, which now accepts `dismiss_discrepancy`. The case is
-- cleared and `dismissed_by` names the decision, so a case cleared by a match and one
-- dismissed stay apart, and a later pass that finds the same disagreement again (same payment,
-- kind and provider object) does not open it again.

ALTER TABLE operator_actions DROP CONSTRAINT operator_actions_action_check;
ALTER TABLE operator_actions ADD CONSTRAINT operator_actions_action_check
    CHECK (action IN ('approve', 'deny', 'resolve_succeeded', 'resolve_retry', 'resolve_skip',
                      'cancel', 'retry', 'resume', 'dismiss_discrepancy'));

ALTER TABLE discrepancies ADD COLUMN dismissed_by BIGINT;
