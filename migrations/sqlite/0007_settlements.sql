-- sluice checkpoint store, schema version 7 (SQLite): the final state of each committed payment.
--
-- A payment item succeeds when the provider accepts it (committed); whether the money then
-- landed (settled) or came back (failed_after_commit) is learned later, by polling the
-- object or from a webhook, and recorded here once. A payment with no row is committed.

CREATE TABLE settlements (
    run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id         TEXT NOT NULL,
    item_key        TEXT NOT NULL,
    settlement      TEXT NOT NULL CHECK (settlement IN ('settled', 'failed_after_commit')),
    provider_state  TEXT,
    source          TEXT NOT NULL,
    settled_at      TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, item_key)
);
