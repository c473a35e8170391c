-- Migration 7: when a principal last wrote, for read-your-writes with read replicas.

-- An API request already upserts its client's rate counter; a write also records there when it
-- happened (unix milliseconds, 0: no write in the counter's life), and every upsert returns it,
-- so the next request of that client, on any instance, knows without another query whether it
-- must read from the primary. The purge drops a counter a minute after its window ends, long
-- after the read-your-writes window (seconds).
ALTER TABLE rate_counters ADD COLUMN last_write bigint NOT NULL DEFAULT 0;
