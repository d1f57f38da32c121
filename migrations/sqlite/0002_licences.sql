-- Integration licences. A code is verifiable on its own (its MAC); the database only records
-- which codes were minted (for the operator's list), redeemed (once each) and revoked.
-- `serial` is the code's 40-bit serial number.

CREATE TABLE licences_minted (
    serial     INTEGER PRIMARY KEY,
    code       TEXT    NOT NULL UNIQUE,
    capability TEXT    NOT NULL,
    minted_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE licence_redemptions (
    serial      INTEGER PRIMARY KEY,                 -- one redemption per code
    code        TEXT    NOT NULL,
    capability  TEXT    NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redeemed_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX licence_redemptions_by_account ON licence_redemptions (account_id);

CREATE TABLE licence_revocations (
    serial     INTEGER PRIMARY KEY,
    revoked_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
