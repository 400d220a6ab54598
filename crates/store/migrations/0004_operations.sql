-- The durable engine's operations (sagas). A row is written with the resource's desired
-- state; workers claim it with a lease, run its steps, and record each step's output before
-- the next starts, so a crashed worker's operation resumes (or unwinds) where it stopped.
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    -- pending | running | undoing | done | failed
    state TEXT NOT NULL,
    input TEXT NOT NULL,
    -- JSON array of {"step": name, "output": value}, in the order the steps finished
    steps_done TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX operations_claim ON operations(state, lease_until);
CREATE INDEX operations_resource ON operations(resource_id);
