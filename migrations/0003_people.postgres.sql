-- Migration 3: users, sessions, API clients and tokens (reserved for the people-and-roles work).
SELECT 1;
