-- How a reporter's trouble is told (issue 21): failed attempts in a row since the last accepted
-- update ("Charge Amps refused the serial number and PIN 3 times"), and when that run began
-- ("since 14:02": when the trouble began, not the last retry).
ALTER TABLE reporter_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reporter_state ADD COLUMN trouble_since INTEGER;
