-- Versions of what the statistics read, so that what they computed from
-- it can be kept until it changes (memo.go).
--
-- series_info.settled_writes counts the writes into the settled past of
-- the series: commits that wrote a minute bucket well before their own
-- clock (late sessions) and cleanups that deleted buckets. A merge of
-- settled buckets is kept under the count it read first (series_memo.go).
ALTER TABLE series_info ADD COLUMN settled_writes INTEGER NOT NULL DEFAULT 0;

-- interface_totals.changes counts the commits that wrote an interface's
-- client rows and the rows deleted from it: the interface's activity
-- counts (clients seen in the last hour and day) are kept under it and
-- the second they were counted at.
ALTER TABLE interface_totals ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER interface_totals_changes AFTER DELETE ON ntp_clients BEGIN
	UPDATE interface_totals SET changes = changes + 1 WHERE interface_name = OLD.interface_name;
END;
