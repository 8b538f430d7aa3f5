-- sluice checkpoint store, schema version 9 (Postgres): what became of every schedule slot, and
-- notifications that belong to a schedule rather than to a run, as in
-- migrations/sqlite/0009_slot_outcomes.sql.

ALTER TABLE schedule_slots ADD COLUMN outcome TEXT NOT NULL DEFAULT 'fired'
    CHECK (outcome IN ('fired', 'skipped', 'missed', 'failed'));
ALTER TABLE schedule_slots ADD COLUMN reason TEXT;

UPDATE schedule_slots SET outcome = 'skipped', reason = 'another run was live (overlap: skip)'
WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = schedule_slots.run_id);

ALTER TABLE notifications ALTER COLUMN run_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN workflow_name TEXT;
ALTER TABLE notifications ADD CONSTRAINT notifications_owner_check
    CHECK (run_id IS NOT NULL OR workflow_name IS NOT NULL);
