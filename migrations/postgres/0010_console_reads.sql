-- sluice checkpoint store, schema version 10 (Postgres): what the operator console reads of a
-- large batch, answered from indexes, and resume as an operator action, as in
-- migrations/sqlite/0010_console_reads.sql.
ALTER TABLE step_runs
    ADD COLUMN asset TEXT,
    ADD COLUMN amount_units BIGINT,
    ADD COLUMN amount_scale BIGINT;

UPDATE step_runs
SET asset = COALESCE(request_json::jsonb ->> 'asset', request_json::jsonb ->> 'currency')
WHERE request_json IS NOT NULL AND request_json::jsonb -> 'amount' IS NOT NULL;

-- A step's amounts by state and asset, in that order, and its rows' positions: its totals
-- and its counts by state are read from this index alone, already grouped.
CREATE INDEX step_runs_totals
    ON step_runs (run_id, step_id, state, asset, amount_scale, amount_units, seq);

-- The amounts that are not digits and scale (too long, or written before this version): so
-- that finding them reads only them.
CREATE INDEX step_runs_unsummed ON step_runs (run_id, step_id)
    WHERE asset IS NOT NULL AND amount_units IS NULL;

-- A run's rows in one state (what the engine and the inbox look for), now also a step's rows
-- in one state in plan order: a page of the items filtered by state.
DROP INDEX step_runs_by_state;
CREATE INDEX step_runs_by_state ON step_runs (run_id, state, step_id, seq);

-- A key search is a range of keys compared byte by byte, whatever the database's collation.
CREATE INDEX step_runs_by_key ON step_runs (run_id, step_id, item_key COLLATE "C");

CREATE INDEX attempts_by_run ON attempts (run_id, id);

ALTER TABLE operator_actions DROP CONSTRAINT operator_actions_action_check;
ALTER TABLE operator_actions ADD CONSTRAINT operator_actions_action_check
    CHECK (action IN ('approve', 'deny', 'resolve_succeeded', 'resolve_retry', 'resolve_skip',
                      'cancel', 'retry', 'resume'));
