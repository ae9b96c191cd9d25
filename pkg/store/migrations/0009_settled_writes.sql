-- settled_writes counts the writes into the settled past of the series:
-- commits that wrote a minute bucket well before their own clock (late
-- sessions) and cleanups that deleted buckets. A merge of settled buckets
-- that the store keeps (series_memo.go) is used only while the count is
-- what it was when the merge read them.
ALTER TABLE series_info ADD COLUMN settled_writes INTEGER NOT NULL DEFAULT 0;
