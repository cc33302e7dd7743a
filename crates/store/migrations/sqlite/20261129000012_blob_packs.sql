-- Files that arrive with a filing are kept in pack files (see the store's `packs` module): which
-- pack and where in it. Both are NULL for a blob stored as a file of its own.
ALTER TABLE blobs ADD COLUMN pack BIGINT;
ALTER TABLE blobs ADD COLUMN pack_offset BIGINT;
