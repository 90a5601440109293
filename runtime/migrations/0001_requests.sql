-- The usage ledger: one row per finished model call (runtime/src/ledger/row.rs).
-- Written for SQLite and Postgres alike: times are Unix milliseconds (UTC), durations
-- milliseconds, cost micro-USD (NULL when a price was unknown; never 0 for "unknown").
CREATE TABLE requests (
    id                 TEXT PRIMARY KEY,
    time_ms            BIGINT NOT NULL,
    request_id         TEXT NOT NULL,
    key_id             TEXT,
    model              TEXT NOT NULL,
    route              TEXT,
    provider           TEXT,
    upstream_model     TEXT,
    inbound            TEXT NOT NULL,
    outbound           TEXT,
    stream             BIGINT NOT NULL, -- 0 or 1 (sqlx's Any driver reads no SQLite BOOLEAN)
    status             BIGINT NOT NULL,
    outcome            TEXT NOT NULL,
    attempts           BIGINT NOT NULL,
    duration_ms        DOUBLE PRECISION NOT NULL,
    ttfb_ms            DOUBLE PRECISION,
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    cache_read_tokens  BIGINT,
    cache_write_tokens BIGINT,
    reasoning_tokens   BIGINT,
    cost_micro_usd     DOUBLE PRECISION
);
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_request_id ON requests (request_id);
CREATE INDEX requests_key_time ON requests (key_id, time_ms);
