-- sluice checkpoint store, schema version 6 (SQLite): what `sluice prune --keep-audit` keeps of
-- a pruned run, one row per step run that went to a provider.
--
-- Pruning deletes a finished run's steps, attempts, inputs and events; an auditor may still
-- need to know that a payment was made, for how much, where, and who decided what. These rows
-- carry no request and no answer, only the idempotency key, the amount and its asset, the
-- provider's id, the final state and the operator actions on it.

CREATE TABLE payment_audit (
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    item_key         TEXT NOT NULL,
    workflow_name    TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    amount           TEXT,
    asset            TEXT,
    provider_ref     TEXT,
    final_state      TEXT NOT NULL,
    operator_actions TEXT NOT NULL,
    finished_at      TEXT,
    pruned_at        TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, item_key)
);
