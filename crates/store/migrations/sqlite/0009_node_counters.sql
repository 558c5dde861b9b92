-- The data plane admits from counters in each node's memory (issue 14): rate windows and
-- concurrency leases no longer live in the database. Nodes sharing PostgreSQL write their
-- counters here, one row per node, and read each other's.
DROP TABLE rate_windows;
DROP TABLE concurrency_leases;
CREATE TABLE node_counters (
    node TEXT PRIMARY KEY,
    counts TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
