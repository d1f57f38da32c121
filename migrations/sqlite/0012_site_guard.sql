-- The site's peak guard (backend/src/capacity.rs): 'off', 'billed' (never raise the month's
-- billed level, starting from guard_w) or 'cap' (never above guard_w), in the hours the grid
-- operator counts.
ALTER TABLE site_grid ADD COLUMN guard TEXT NOT NULL DEFAULT 'off'
    CHECK (guard IN ('off', 'billed', 'cap'));
ALTER TABLE site_grid ADD COLUMN guard_w INTEGER;
