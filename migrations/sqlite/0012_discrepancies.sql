-- sluice checkpoint store, schema version 12 (SQLite): what scheduled reconciliation found wrong.
--
-- `serve` reconciles recent runs on a schedule; each disagreement between a payment and its
-- provider's records (state, amount or currency mismatch, missing at the provider, an object
-- with the payment's marker that no record names) is an operator case, recorded here once
-- while it is open however many processes and passes see it: the partial unique index makes
-- the insert of a second open row a no-op. A later pass that finds the payment matched sets
-- `cleared_at`; the row stays as history, and a new disagreement opens a new row.

CREATE TABLE discrepancies (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id         TEXT NOT NULL,
    item_key        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('state_mismatch', 'amount_mismatch',
                        'currency_mismatch', 'missing_at_provider', 'unknown_to_sluice')),
    provider_ref    TEXT NOT NULL,
    detail          TEXT NOT NULL,
    found_at        TEXT NOT NULL,
    cleared_at      TEXT
);

CREATE UNIQUE INDEX discrepancies_open
    ON discrepancies (run_id, step_id, item_key, kind, provider_ref) WHERE cleared_at IS NULL;
CREATE INDEX discrepancies_by_run ON discrepancies (run_id, id);
