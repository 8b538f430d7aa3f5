-- sluice checkpoint store, schema version 3 (Postgres): `serve` workers sharing the items of
-- one `for_each` step, as in migrations/sqlite/0004_item_claims.sql.

ALTER TABLE step_runs ADD COLUMN claim_owner TEXT;
ALTER TABLE step_runs ADD COLUMN claim_expires_at TIMESTAMPTZ;

CREATE INDEX step_runs_by_claim ON step_runs (claim_owner) WHERE claim_owner IS NOT NULL;

CREATE TABLE shared_steps (
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id          TEXT NOT NULL,
    holder           TEXT NOT NULL,
    scope_json       TEXT NOT NULL,
    elements_json    TEXT NOT NULL,
    first_seq        BIGINT NOT NULL,
    last_seq         BIGINT NOT NULL,
    shared_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
