-- Migration 2: forecast categories and forecast indexes (reserved for the forecast work).
SELECT 1;
