-- A reporter wizard left part-way (issue 21): what was chosen so far and the serial number and
-- PIN reserved for it, per account and site, until the reporter is saved or the draft
-- discarded. A reload, Back or a second tab finds the same draft, so Charge Amps Partner never
-- holds a serial the saved reporter does not use.
CREATE TABLE reporter_drafts (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    fields     TEXT    NOT NULL,                     -- JSON; never a password
    serial     TEXT    REFERENCES reporter_serials (serial),
    updated_at INTEGER NOT NULL,                     -- ms UTC
    PRIMARY KEY (account_id, site_id)
);
