-- Per-IP request rate limits (postgres): one row per client bucket (an IPv4
-- address, or an IPv6 prefix), shared by every instance so that N instances
-- allow the configured rate in total. `tat_micros` is the bucket's GCRA
-- theoretical arrival time, in microseconds since the Unix epoch (UTC): an
-- integer, so that the one upsert per request does its arithmetic without
-- timestamp types. A row whose time has passed is a fresh budget; the purge
-- deletes those. No index on `tat_micros`: each request updates it, and an
-- index would make every such update a non-HOT one for the sake of a purge
-- that reads a table of the recently active clients only.
-- Keep in step with ../../sqlite and schema.rs.

CREATE TABLE request_rates (
    bucket TEXT PRIMARY KEY,
    tat_micros BIGINT NOT NULL
);
