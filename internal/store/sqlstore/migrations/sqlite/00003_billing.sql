-- +goose Up
-- Billing (internal/billing): the prepaid ledger, reservations, monthly spend
-- caps, rate-limit settings, the price book and metered usage. Amounts are
-- integer micro-dollars; times are integer microseconds since the Unix
-- epoch, UTC, as everywhere.

-- One row per organization, created on first use. balance is the sum of the
-- organization's ledger entries, kept in the same transaction as every
-- entry; held is what requests in flight have reserved. Every transaction
-- that changes an organization's money, holds or spend locks this row
-- first, which orders them on PostgreSQL.
CREATE TABLE billing_accounts (
    org_id          TEXT PRIMARY KEY,
    balance         INTEGER NOT NULL DEFAULT 0,
    held            INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    credit_limit    INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    lifetime_topups INTEGER NOT NULL DEFAULT 0,
    tier            INTEGER NOT NULL DEFAULT 0,
    monthly_grant   INTEGER NOT NULL DEFAULT 0 CHECK (monthly_grant >= 0),
    grant_remaining INTEGER NOT NULL DEFAULT 0,
    grant_month     INTEGER NOT NULL DEFAULT 0,  -- first instant of the month last granted; 0 = never
    updated_at      INTEGER NOT NULL
);

-- The ledger: append-only and double-entry. Each transaction has exactly
-- two entries, the organization's account +amount and the counter-account
-- -amount, so the books always balance. IDs compare bytewise, the order the
-- ledger's cursor pages in.
CREATE TABLE ledger_transactions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    request_id    TEXT NOT NULL DEFAULT '',
    group_id      TEXT NOT NULL DEFAULT '',
    key_id        TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    reference     TEXT,                       -- NULL when none
    memo          TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
-- Posting twice with one reference posts once.
CREATE UNIQUE INDEX ledger_transactions_reference ON ledger_transactions (org_id, reference)
    WHERE reference IS NOT NULL;
-- A request is debited once, even if its usage record was pruned and it is
-- settled again.
CREATE UNIQUE INDEX ledger_transactions_usage ON ledger_transactions (request_id) WHERE kind = 'usage';
CREATE INDEX ledger_transactions_org ON ledger_transactions (org_id, created_at, id);

CREATE TABLE ledger_entries (
    txn_id  TEXT NOT NULL REFERENCES ledger_transactions (id),
    account TEXT NOT NULL,
    amount  INTEGER NOT NULL,
    PRIMARY KEY (txn_id, account)
);

-- +goose StatementBegin
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger_transactions is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger_transactions is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
-- +goose StatementEnd

-- Reservations of requests in flight. month is the month whose caps the
-- hold counts against.
CREATE TABLE billing_holds (
    request_id TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    group_id   TEXT NOT NULL DEFAULT '',
    key_id     TEXT NOT NULL DEFAULT '',
    model      TEXT NOT NULL DEFAULT '',
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    month      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX billing_holds_expiry ON billing_holds (expires_at);

-- Spend and holds per organization, group and key per UTC month, kept
-- whether or not a cap applies, so a cap set mid-month sees the month.
CREATE TABLE billing_spend (
    scope_kind TEXT NOT NULL,                 -- org, group, key
    scope_id   TEXT NOT NULL,
    month      INTEGER NOT NULL,
    org_id     TEXT NOT NULL,
    spent      INTEGER NOT NULL DEFAULT 0,
    held       INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    PRIMARY KEY (scope_kind, scope_id, month)
);

CREATE TABLE billing_caps (
    org_id      TEXT NOT NULL,
    scope_kind  TEXT NOT NULL,
    scope_id    TEXT NOT NULL,
    monthly_cap INTEGER NOT NULL CHECK (monthly_cap >= 0),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope_id)
);
CREATE INDEX billing_caps_org ON billing_caps (org_id);

-- Rate-limit settings; model '' applies to every model.
CREATE TABLE rate_limits (
    org_id      TEXT NOT NULL,
    scope_kind  TEXT NOT NULL,
    scope_id    TEXT NOT NULL,
    model       TEXT NOT NULL DEFAULT '',
    rpm         INTEGER NOT NULL DEFAULT 0,
    tpm         INTEGER NOT NULL DEFAULT 0,
    concurrency INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope_id, model)
);
CREATE INDEX rate_limits_org ON rate_limits (org_id);

-- The price book: dated versions per model, never edited (the app adds its
-- built-in list prices at start).
CREATE TABLE prices (
    id                    TEXT PRIMARY KEY,
    model                 TEXT NOT NULL,
    effective_from        INTEGER NOT NULL,
    input_per_1m          INTEGER NOT NULL DEFAULT 0,
    output_per_1m         INTEGER NOT NULL DEFAULT 0,
    reasoning_per_1m      INTEGER NOT NULL DEFAULT 0,
    citation_per_1m       INTEGER NOT NULL DEFAULT 0,
    search_per_1k         INTEGER NOT NULL DEFAULT 0,
    request_low_per_1k    INTEGER NOT NULL DEFAULT 0,
    request_medium_per_1k INTEGER NOT NULL DEFAULT 0,
    request_high_per_1k   INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    created_by            TEXT NOT NULL,
    UNIQUE (model, effective_from)
);

-- Raw usage records, one per request, kept for the retention period.
-- Latencies are microseconds.
CREATE TABLE usage_records (
    request_id        TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    group_id          TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    endpoint          TEXT NOT NULL,
    model             TEXT NOT NULL,
    served_by         TEXT NOT NULL,
    deployment        TEXT NOT NULL,
    stream            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    citation_tokens   INTEGER NOT NULL,
    search_queries    INTEGER NOT NULL,
    context_size      TEXT NOT NULL,
    tokens_estimated  INTEGER NOT NULL,
    price_id          TEXT NOT NULL,
    cost_input        INTEGER NOT NULL,
    cost_output       INTEGER NOT NULL,
    cost_reasoning    INTEGER NOT NULL,
    cost_citation     INTEGER NOT NULL,
    cost_search       INTEGER NOT NULL,
    cost_request      INTEGER NOT NULL,
    cost_total        INTEGER NOT NULL,
    status            INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    error             TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    started_at        INTEGER NOT NULL,
    latency           INTEGER NOT NULL,
    ttft              INTEGER NOT NULL
);
CREATE INDEX usage_records_org ON usage_records (org_id, started_at);
CREATE INDEX usage_records_started ON usage_records (started_at);

-- What dashboards and statements read: usage summed per minute and per day
-- (bucket is the bucket's first microsecond) by group, key and model.
CREATE TABLE usage_rollups (
    granularity       TEXT NOT NULL,          -- minute, day
    bucket            INTEGER NOT NULL,
    org_id            TEXT NOT NULL,
    group_id          TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    model             TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL,
    citation_tokens   INTEGER NOT NULL,
    search_queries    INTEGER NOT NULL,
    cost              INTEGER NOT NULL,
    PRIMARY KEY (granularity, bucket, org_id, group_id, key_id, model)
);
CREATE INDEX usage_rollups_org ON usage_rollups (org_id, granularity, bucket);

-- +goose Down
DROP TABLE usage_rollups;
DROP TABLE usage_records;
DROP TABLE prices;
DROP TABLE rate_limits;
DROP TABLE billing_caps;
DROP TABLE billing_spend;
DROP TABLE billing_holds;
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE billing_accounts;
