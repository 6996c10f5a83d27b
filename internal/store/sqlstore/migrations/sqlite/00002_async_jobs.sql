-- +goose Up
-- Async chat completions (internal/async). A job belongs to the API group of
-- the key that submitted it; the key is recorded by ID only. Times are
-- integer microseconds since the Unix epoch, UTC, as everywhere.
CREATE TABLE async_jobs (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    group_id        TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    model           TEXT NOT NULL,
    request         TEXT NOT NULL,          -- the validated chat completion request (JSON)
    idempotency_key TEXT,                   -- NULL when the client sent none
    status          TEXT NOT NULL,          -- CREATED, IN_PROGRESS, COMPLETED, FAILED
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    started_at      INTEGER,
    completed_at    INTEGER,
    failed_at       INTEGER,
    error_message   TEXT,
    response        TEXT,                   -- the chat.completion (JSON) when COMPLETED
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim_token     TEXT,                   -- the running worker's claim, fencing its writes
    lease_until     INTEGER                 -- when the claim lapses unless renewed
);
-- One live job per idempotency key and group.
CREATE UNIQUE INDEX async_jobs_idempotency ON async_jobs (group_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX async_jobs_group ON async_jobs (group_id, created_at, id);
-- The queue: only unfinished jobs, oldest first.
CREATE INDEX async_jobs_queue ON async_jobs (created_at, id) WHERE status IN ('CREATED', 'IN_PROGRESS');
CREATE INDEX async_jobs_expiry ON async_jobs (expires_at);

-- +goose Down
DROP TABLE async_jobs;
