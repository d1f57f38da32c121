-- What an installer leaves behind when the owner revokes their access (SECURITY.md): the
-- reporters they created (which keep forwarding the site's readings to the partner they chose)
-- and the monitors whose device token they saw (which keeps working). The owner sees both
-- after a revoke, with one action each.
ALTER TABLE reporters ADD COLUMN created_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL;
ALTER TABLE monitors ADD COLUMN token_seen_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL;
