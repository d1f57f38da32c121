-- Monitors, their raw readings and the per-minute / hour / local-day rollups kept up to date as
-- readings arrive. Reading times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE monitors (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    phases     INTEGER NOT NULL CHECK (phases IN (1, 3)),
    kind       TEXT    NOT NULL CHECK (kind IN ('http', 'p1')),
    token_hash BLOB    NOT NULL UNIQUE,                -- SHA-256 of the device token
    last_ts    INTEGER,                                -- newest reading, ms UTC
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX monitors_by_site ON monitors (site_id);

-- The monitor that measures the site's total consumption.
ALTER TABLE sites ADD COLUMN total_monitor_id INTEGER REFERENCES monitors (id) ON DELETE SET NULL;

-- `seq` is the arrival order: the live stream's event ids, so a client resumes after the last
-- one it saw even when readings arrive out of time order.
CREATE TABLE readings (
    seq        INTEGER PRIMARY KEY,
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    i1 REAL, i2 REAL, i3 REAL,                         -- current, A (negative = export)
    v1 REAL, v2 REAL, v3 REAL,                         -- voltage, V
    p1 REAL, p2 REAL, p3 REAL,                         -- active power, W (negative = export)
    import_kwh REAL,
    export_kwh REAL,
    derived    INTEGER NOT NULL DEFAULT 0,             -- current computed from power
    UNIQUE (monitor_id, ts)
);

-- period: 'm' minute, 'h' hour (UTC-aligned), 'd' the site's local calendar day.
-- Per phase: min / max / sum of current (mean = sum / n). p_sum: total power (W), measured or
-- estimated, for energy where the meter has no counters. Counters are monotonic: min is the
-- first value of the bucket, max the last.
CREATE TABLE rollups (
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    period     TEXT    NOT NULL CHECK (period IN ('m', 'h', 'd')),
    start      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    ts_min     INTEGER NOT NULL,
    ts_max     INTEGER NOT NULL,
    i1_min REAL, i1_max REAL, i1_sum REAL,
    i2_min REAL, i2_max REAL, i2_sum REAL,
    i3_min REAL, i3_max REAL, i3_sum REAL,
    p_sum      REAL    NOT NULL,
    import_min REAL, import_max REAL,
    export_min REAL, export_max REAL,
    PRIMARY KEY (monitor_id, period, start)
) WITHOUT ROWID;
