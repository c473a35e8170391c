-- Migration 8: a phase's "rotting after N days", set by an admin (NULL: the phase's usual time
-- decides, once its move history is large enough; see models/health.go).
ALTER TABLE phases ADD COLUMN rot_after_days integer CHECK (rot_after_days IS NULL OR rot_after_days BETWEEN 1 AND 3650);
