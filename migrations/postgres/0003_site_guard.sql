-- The site's peak guard (migrations/sqlite/0012).
ALTER TABLE site_grid ADD COLUMN guard TEXT NOT NULL DEFAULT 'off'
    CHECK (guard IN ('off', 'billed', 'cap'));
ALTER TABLE site_grid ADD COLUMN guard_w BIGINT;
