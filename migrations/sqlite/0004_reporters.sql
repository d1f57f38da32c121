-- Reporters: integrations that forward one monitor's readings to a partner's cloud (Charge Amps,
-- or any Open Reporter partner). Times are INTEGER milliseconds since the Unix epoch, UTC.

-- Every serial number ever handed out, with the PIN it was issued with. A serial is never
-- issued twice, even after its reporter is deleted: Charge Amps Partner may still hold it.
CREATE TABLE reporter_serials (
    serial      TEXT    PRIMARY KEY,                   -- e.g. AMPW-7K3Q-92XD
    pin         TEXT    NOT NULL,                      -- 8 digits
    account_id  INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    issued_at   INTEGER NOT NULL
);

CREATE TABLE reporters (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- Not cascading: a monitor that a reporter forwards is not deleted from under it (deleting
    -- the site deletes both in one statement, which the deferred check allows).
    monitor_id       INTEGER NOT NULL REFERENCES monitors (id),
    kind             TEXT    NOT NULL CHECK (kind IN ('charge_amps', 'open_reporter')),
    name             TEXT    NOT NULL,
    main_fuse_a      INTEGER NOT NULL CHECK (main_fuse_a BETWEEN 6 AND 250),
    serial           TEXT    NOT NULL UNIQUE REFERENCES reporter_serials (serial),
    -- The Charge Amps password: kept in clear because the server authenticates with it.
    pin              TEXT,
    -- The Charge Amps licence this reporter holds (one licence, one reporter).
    licence_serial   INTEGER UNIQUE REFERENCES licence_redemptions (serial) ON DELETE SET NULL,
    -- Open Reporter: the partner's URLs and the credentials it gave.
    create_token_url TEXT,
    update_url       TEXT,
    username         TEXT,
    password         TEXT,
    paused           INTEGER NOT NULL DEFAULT 0,
    -- Bumped on every change, so a forwarder knows to reload its settings.
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (kind <> 'charge_amps' OR pin IS NOT NULL),
    CHECK (kind <> 'open_reporter' OR (create_token_url IS NOT NULL AND update_url IS NOT NULL
                                       AND username IS NOT NULL AND password IS NOT NULL))
);
CREATE INDEX reporters_by_site ON reporters (site_id);
CREATE INDEX reporters_by_monitor ON reporters (monitor_id);

-- What the forwarder knows of each reporter: the cursor (the newest reading sent) and the
-- outcome of its last attempts, from which the status shown to users is derived.
CREATE TABLE reporter_state (
    reporter_id  INTEGER PRIMARY KEY REFERENCES reporters (id) ON DELETE CASCADE,
    sent_ts      INTEGER,                              -- newest reading sent, its time
    reading_ts   INTEGER,                              -- newest reading seen
    accepted_at  INTEGER,                              -- last update the partner accepted
    failed_at    INTEGER,                              -- last failed attempt
    problem      TEXT,                                 -- what failed, a code (see model::reporter)
    offline      INTEGER NOT NULL DEFAULT 0            -- the last update said the monitor is silent
);

-- Who forwards which reporter. Each server process that forwards renews one row of its own
-- (`forwarders`: one write however many reporters it holds); a reporter's lease is good while
-- its holder's row is. A lease whose holder stopped renewing may be taken by any process.
CREATE TABLE forwarders (
    holder     TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE reporter_leases (
    reporter_id INTEGER PRIMARY KEY REFERENCES reporters (id) ON DELETE CASCADE,
    holder      TEXT    NOT NULL
);
CREATE INDEX reporter_leases_by_holder ON reporter_leases (holder);

-- The wizard looks for an account's newest free licence and newest unused serials.
CREATE INDEX licence_redemptions_by_account_time ON licence_redemptions (account_id, redeemed_at);
CREATE INDEX reporter_serials_by_account_time ON reporter_serials (account_id, issued_at);
