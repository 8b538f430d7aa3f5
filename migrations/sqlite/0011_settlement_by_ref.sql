-- sluice checkpoint store, schema version 11 (SQLite): payments found by provider object id.
--
-- A provider's webhook names the object it is about, not sluice's row; `serve` finds the
-- committed payment it may settle by the object id recorded when the provider accepted it.

CREATE INDEX step_runs_by_provider_ref ON step_runs (provider_ref) WHERE provider_ref IS NOT NULL;
