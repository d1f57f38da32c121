-- Rollups are kept in the server's memory and written behind the readings (about once a second,
-- and before any read of them): a reading is one row. `seq` here is the newest reading the
-- rollups table has counted; readings above it are counted again from the raw rows when the
-- server starts (after a crash). The writer numbers readings itself, always above it.
CREATE TABLE rollup_progress (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
-- Until now every reading's rollups were written with it.
INSERT INTO rollup_progress (id, seq) SELECT 1, coalesce(max(seq), 0) FROM readings;
