-- sluice checkpoint store, schema version 4 (SQLite): `serve` workers sharing the items of one
-- `for_each` step.
--
-- The worker that holds a run can publish a large batch step in `shared_steps`: the step's
-- rendered template scope and its elements, so that any other worker can render and run its
-- items. Every process working on the step, the holder included, claims items a few at a
-- time (`claim_owner` until `claim_expires_at`, renewed with its heartbeat), and a step write
-- commits only while its writer's claim holds (or, for the run's holder, while nobody claims
-- the row). A settled item's claim is cleared, so the index holds only claims in progress.

ALTER TABLE step_runs ADD COLUMN claim_owner TEXT;
ALTER TABLE step_runs ADD COLUMN claim_expires_at TEXT;

CREATE INDEX step_runs_by_claim ON step_runs (claim_owner) WHERE claim_owner IS NOT NULL;

CREATE TABLE shared_steps (
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT NOT NULL,
    holder           TEXT NOT NULL,
    scope_json       TEXT NOT NULL,
    elements_json    TEXT NOT NULL,
    first_seq        INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL,
    shared_at        TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
