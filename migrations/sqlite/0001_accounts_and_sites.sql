-- Accounts, sites and the grants that let installers work on an owner's site.
-- Times are UTC, RFC 3339 text. Never edit this file once applied: add a new migration.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,           -- trimmed, lower-case
    password_hash TEXT    NOT NULL,                  -- argon2id PHC string
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'installer')),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    time_zone   TEXT    NOT NULL,                    -- IANA name, e.g. Europe/Stockholm
    price_area  TEXT    NOT NULL CHECK (price_area IN ('SE1', 'SE2', 'SE3', 'SE4')),
    main_fuse_a INTEGER NOT NULL CHECK (main_fuse_a BETWEEN 6 AND 400),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX sites_by_owner ON sites (owner_id);

CREATE TABLE site_grants (
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    granted_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (site_id, account_id)
);
CREATE INDEX site_grants_by_account ON site_grants (account_id);
