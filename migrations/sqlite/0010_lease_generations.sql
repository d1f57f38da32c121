-- Fencing for the forwarders' leases: every lease taken gets a new generation (one counter
-- for all, so it never repeats), and a forwarder writes its state only while its lease of that
-- generation stands. One process on SQLite never races itself, but the rule is the same on
-- both databases (see migrations/postgres).
CREATE TABLE lease_generations (n INTEGER NOT NULL);
INSERT INTO lease_generations (n) VALUES (0);
ALTER TABLE reporter_leases ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
