-- Where retention has deleted each level's buckets, so that a read whose
-- ragged end lies there reads the whole coarser bucket, which still holds
-- that traffic (series_read.go, widenToKept). NULL: never deleted.
ALTER TABLE series_info ADD COLUMN minutes_deleted_before INTEGER;
ALTER TABLE series_info ADD COLUMN hours_deleted_before INTEGER;
