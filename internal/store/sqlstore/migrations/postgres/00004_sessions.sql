-- +goose Up
-- Dashboard sign-in (internal/session). Secrets (session cookies, invitation
-- tokens) are stored as their SHA-256 only. Times are integer microseconds
-- since the Unix epoch, UTC, as everywhere.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    secret_hash  BYTEA NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id),
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    csrf_token   TEXT NOT NULL,             -- per session; grants nothing alone
    source_ip    TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,          -- lowered to revoked_at when a session ends
    last_seen_at BIGINT NOT NULL,
    revoked_at   BIGINT
);
-- The purge of dead sessions walks this index.
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    invited_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id, created_at);

-- Sign-in attempts per throttling key (the SHA-256 of an email or a client
-- network), counted in a window that opens at the key's first attempt.
CREATE TABLE login_attempts (
    key_hash     BYTEA PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     INTEGER NOT NULL
);
CREATE INDEX login_attempts_window ON login_attempts (window_start);

-- +goose Down
DROP TABLE login_attempts;
DROP TABLE invitations;
DROP TABLE sessions;
