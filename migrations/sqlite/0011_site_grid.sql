-- The site's grid operator and tariff, for its capacity charge (backend/src/capacity.rs): the
-- operator as `ampwise peaks` names it (goteborg-energi), the tariff as the operator's price
-- list names it, or NULL for its first.
CREATE TABLE site_grid (
    site_id  INTEGER PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    operator TEXT    NOT NULL,
    tariff   TEXT
);
