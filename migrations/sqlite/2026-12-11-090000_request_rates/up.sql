-- Per-IP request rate limits (sqlite): the table of the PostgreSQL schema,
-- for parity. A SQLite deployment is one instance and keeps its rate limits
-- in memory; the adapter works here too (its tests run on both backends).
-- `tat_micros`: the GCRA theoretical arrival time, microseconds since the
-- Unix epoch (UTC). Keep in step with ../../postgres and schema.rs.

CREATE TABLE request_rates (
    bucket TEXT PRIMARY KEY NOT NULL,
    tat_micros BIGINT NOT NULL
);
