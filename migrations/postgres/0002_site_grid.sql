-- The site's grid operator and tariff, for its capacity charge (migrations/sqlite/0011).
CREATE TABLE site_grid (
    site_id  BIGINT PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    operator TEXT   NOT NULL,
    tariff   TEXT
);
