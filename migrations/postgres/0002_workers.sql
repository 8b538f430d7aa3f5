-- sluice checkpoint store, schema version 2 (Postgres): the `serve` workers sharing the
-- database, as in migrations/sqlite/0003_workers.sql.
--
-- A worker reports itself on every heartbeat; `expires_at` is when it counts as gone unless it
-- reports again. `id` is the lease owner name of its engine, so the runs it holds are those
-- whose `lease_owner` is `id` (or `id/ROLE`).

CREATE TABLE workers (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    host             TEXT NOT NULL,
    pid              BIGINT NOT NULL,
    listen           TEXT,
    version          TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    heartbeat_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX workers_by_expiry ON workers (expires_at);
