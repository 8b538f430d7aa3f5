-- sluice checkpoint store, schema version 8 (Postgres): the run statuses of compensation.
--
-- A workflow with `on_failure: compensate` undoes what succeeded when a step fails for good:
-- its run is `compensating` while the undo path runs, then `compensated` (everything undone)
-- or `compensation_failed` (an operator case). The compensations themselves are step rows
-- (`<step>.compensate`), created with the run.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'needs_attention',
                      'cancelled', 'compensating', 'compensated', 'compensation_failed'));
