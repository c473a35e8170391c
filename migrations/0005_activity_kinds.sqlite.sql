-- Migration 5: every activity kind of the seeds has its own entity set (sqlite).

-- ImportIds are unique per kind: an invoice and an opportunity may come from two systems that
-- both number their records 1, 2, 3 ….
DROP INDEX activities_import_id;
CREATE UNIQUE INDEX activities_import_id ON activities (type, import_id) WHERE import_id IS NOT NULL;
-- A kind's own set (Activity_Invoice …) lists its activities in key order.
CREATE INDEX activities_type ON activities (type, id);
