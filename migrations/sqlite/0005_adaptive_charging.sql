-- Adaptive charging: spot prices per area and slot, what a household pays on top of them, and
-- each reporter's adaptive-charging settings with its current optiCharge plan.

-- Day-ahead spot prices, SEK per kWh excluding VAT, kept for history. Times are ms UTC.
CREATE TABLE price_slots (
    area       TEXT    NOT NULL CHECK (area IN ('SE1', 'SE2', 'SE3', 'SE4')),
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    price      REAL    NOT NULL,
    source     TEXT    NOT NULL,                       -- e.g. elprisetjustnu.se, ENTSO-E at 11.50 SEK/EUR
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (area, start_ms)
) WITHOUT ROWID;

-- What a household pays per kWh on top of the spot price, as its bill says. All optional.
CREATE TABLE site_prices (
    site_id        INTEGER PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    markup_ore     REAL,                               -- the retailer's markup, öre/kWh
    grid_fee_ore   REAL,                               -- the grid operator's transfer fee, öre/kWh
    energy_tax_ore REAL,                               -- energiskatt, öre/kWh
    vat_percent    REAL                                -- moms, on all of it
);

CREATE TABLE reporter_charging (
    reporter_id   INTEGER PRIMARY KEY REFERENCES reporters (id) ON DELETE CASCADE,
    settings      TEXT    NOT NULL,                    -- JSON: model::charging::Adaptive
    plugged_in_ms INTEGER,                             -- optiCharge "from now": when it was asked
    plan          TEXT,                                -- JSON: model::charging::Plan
    window_start  INTEGER,
    window_end    INTEGER
);
