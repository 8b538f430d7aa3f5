-- sluice checkpoint store, schema version 2 (SQLite): a run's inputs move to their own table.
--
-- A run's inputs can be a CSV of 100,000 rows (megabytes of JSON). Kept in `runs`, every
-- dispatch's lease fence, every lease renewal and every status change rewrote (and first
-- read, page by page through its overflow chain) that whole record, so a batch paid for its
-- own input once per group commit. In their own row they are written once and read when a
-- run is loaded.

CREATE TABLE run_inputs (
    run_id           TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    inputs_json      TEXT NOT NULL
);

INSERT INTO run_inputs (run_id, inputs_json) SELECT id, inputs_json FROM runs;

ALTER TABLE runs DROP COLUMN inputs_json;
