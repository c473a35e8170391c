-- Migration 6: rate-limit counters counted in one statement, and a CSRF secret per session (postgres).

-- Fixed-window counters (API calls per client, token requests, failed logins). One upsert counts
-- a hit and returns the new count, so every instance shares the limit without a lock of its own.
-- Windows are unix milliseconds; window_end lets the purge find finished windows.
CREATE TABLE rate_counters (
  k text PRIMARY KEY,
  window_start bigint NOT NULL,
  window_end bigint NOT NULL,
  hits integer NOT NULL
);
CREATE INDEX rate_counters_end ON rate_counters (window_end);

-- The CSRF secret lives with the session it protects: it is made at login (so it rotates with
-- every login) and read with the session, so a page view writes nothing. Sessions from before
-- have no secret; they end here (their users log in once more).
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN csrf_secret text NOT NULL DEFAULT '';

-- CSRF tokens no longer live in kv_store.
DELETE FROM kv_store WHERE k LIKE 'csrf:%' OR k LIKE 'rl:%';
