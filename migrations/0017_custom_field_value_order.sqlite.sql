-- Migration 17 (sqlite): nothing to change. SQLite sorts nulls first ascending already, the
-- order the API sorts in, so migration 13's indexes serve it; PostgreSQL's are rebuilt.
SELECT 1;
