-- sluice checkpoint store, schema version 10 (SQLite): what the operator console reads of a
-- large batch, answered from indexes, and resume as an operator action.
--
-- A step's amount is kept beside its request when the request is written: its asset and its
-- digits as an integer with a scale (`1592.36` is 159236 at scale 2), so that the totals by
-- state and asset are exact sums of integers read from an index, never floats and never a
-- parse of every request (src/store/amount.rs). Rows written before this version get their
-- asset here and no units: the totals read their requests, as before.
ALTER TABLE step_runs ADD COLUMN asset TEXT;
ALTER TABLE step_runs ADD COLUMN amount_units INTEGER;
ALTER TABLE step_runs ADD COLUMN amount_scale INTEGER;

UPDATE step_runs
SET asset = COALESCE(CAST(json_extract(request_json, '$.asset') AS TEXT),
                     CAST(json_extract(request_json, '$.currency') AS TEXT))
WHERE request_json IS NOT NULL AND json_extract(request_json, '$.amount') IS NOT NULL;

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

-- A run's latest provider calls (the timeline of its page), without sorting them all.
CREATE INDEX attempts_by_run ON attempts (run_id, id);

-- `resume` from the console is recorded like every other decision. SQLite cannot change a
-- CHECK constraint in place, so the table is copied (nothing references it).
CREATE TABLE operator_actions_v10 (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT,
    item_key         TEXT,
    action           TEXT NOT NULL CHECK (action IN ('approve', 'deny', 'resolve_succeeded',
                                                     'resolve_retry', 'resolve_skip', 'cancel',
                                                     'retry', 'resume')),
    provider_ref     TEXT,
    actor            TEXT NOT NULL,
    reason           TEXT,
    at               TEXT NOT NULL,
    steps_changed    INTEGER NOT NULL
);

INSERT INTO operator_actions_v10 SELECT id, run_id, step_id, item_key, action, provider_ref,
    actor, reason, at, steps_changed FROM operator_actions;
DROP TABLE operator_actions;
ALTER TABLE operator_actions_v10 RENAME TO operator_actions;
CREATE INDEX operator_actions_by_run ON operator_actions (run_id, id);
