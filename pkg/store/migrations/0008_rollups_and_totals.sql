-- Two things the statistics read instead of the whole client table or a
-- month of hour buckets.
--
-- series_day: the day buckets of the traffic series (UTC days), rolled up
-- by the same commit as the minutes and hours, so that a long range reads
-- one row per day and only its ragged ends from the hours and minutes. The
-- days of a database migrated from 0007 are filled from its hours by the
-- migration's Go step (blobs merge in Go, not in SQL).
CREATE TABLE series_day (
	interface_name TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	requests INTEGER NOT NULL DEFAULT 0,
	answered INTEGER NOT NULL DEFAULT 0,
	unanswered INTEGER NOT NULL DEFAULT 0,
	kod INTEGER NOT NULL DEFAULT 0,
	kod_codes TEXT,
	version1 INTEGER NOT NULL DEFAULT 0,
	version2 INTEGER NOT NULL DEFAULT 0,
	version3 INTEGER NOT NULL DEFAULT 0,
	version4 INTEGER NOT NULL DEFAULT 0,
	version5 INTEGER NOT NULL DEFAULT 0,
	mode1 INTEGER NOT NULL DEFAULT 0,
	mode2 INTEGER NOT NULL DEFAULT 0,
	mode5 INTEGER NOT NULL DEFAULT 0,
	mode6 INTEGER NOT NULL DEFAULT 0,
	mode7 INTEGER NOT NULL DEFAULT 0,
	new_clients INTEGER NOT NULL DEFAULT 0,
	snaplen_cut INTEGER NOT NULL DEFAULT 0,
	clients BLOB,
	processing BLOB,
	wire BLOB,
	latency BLOB,
	PRIMARY KEY (interface_name, bucket)
);
CREATE INDEX series_day_bucket ON series_day (bucket);

-- interface_totals: per interface, the aggregates of its client rows that
-- the interface statistics list, kept in the transaction that writes the
-- rows (by the commit, and by the delete trigger below for what it cannot see),
-- so that a client stored is counted at once and no read scans
-- ntp_clients for them.
-- The sums and counts are exact under inserts, updates and deletes. The
-- extremes (min, max, first and last seen) only move outwards under an
-- upsert; a delete may remove the row that held one, so it sets
-- extremes_stale and the cleanup recomputes them (Store.Cleanup).
CREATE TABLE interface_totals (
	interface_name TEXT PRIMARY KEY,
	clients INTEGER NOT NULL DEFAULT 0,
	sessions INTEGER NOT NULL DEFAULT 0,
	answered INTEGER NOT NULL DEFAULT 0,
	unanswered INTEGER NOT NULL DEFAULT 0,
	kod INTEGER NOT NULL DEFAULT 0,
	clients_with_kod INTEGER NOT NULL DEFAULT 0,
	mode1 INTEGER NOT NULL DEFAULT 0,
	mode2 INTEGER NOT NULL DEFAULT 0,
	mode5 INTEGER NOT NULL DEFAULT 0,
	mode6 INTEGER NOT NULL DEFAULT 0,
	mode7 INTEGER NOT NULL DEFAULT 0,
	latency_count INTEGER NOT NULL DEFAULT 0,
	latency_clients INTEGER NOT NULL DEFAULT 0,
	latency_sum REAL NOT NULL DEFAULT 0,
	latency_min REAL,
	latency_max REAL,
	answered_clients INTEGER NOT NULL DEFAULT 0,
	processing_sum REAL NOT NULL DEFAULT 0,
	processing_min REAL,
	processing_max REAL,
	total_sum REAL NOT NULL DEFAULT 0,
	total_min REAL,
	total_max REAL,
	first_seen TEXT,
	last_seen TEXT,
	no_version INTEGER NOT NULL DEFAULT 0,
	version0 INTEGER NOT NULL DEFAULT 0,
	version1 INTEGER NOT NULL DEFAULT 0,
	version2 INTEGER NOT NULL DEFAULT 0,
	version3 INTEGER NOT NULL DEFAULT 0,
	version4 INTEGER NOT NULL DEFAULT 0,
	version5 INTEGER NOT NULL DEFAULT 0,
	version6 INTEGER NOT NULL DEFAULT 0,
	version7 INTEGER NOT NULL DEFAULT 0,
	extremes_stale INTEGER NOT NULL DEFAULT 0
);

INSERT INTO interface_totals
SELECT interface_name, count(*), sum(session_count), sum(answered_count), sum(unanswered_count),
	sum(kod_count), sum(kod_count > 0),
	sum(mode1_count), sum(mode2_count), sum(mode5_count), sum(mode6_count), sum(mode7_count),
	sum(latency_count), sum(latency_count > 0), sum(latency_sum), min(latency_min), max(latency_max),
	sum(answered_count > 0), sum(processing_sum), min(processing_min), max(processing_max),
	sum(total_sum), min(total_min), max(total_max),
	min(first_seen_timestamp), max(last_seen_timestamp), sum(ntp_version IS NULL),
	sum(ntp_version IS 0), sum(ntp_version IS 1), sum(ntp_version IS 2), sum(ntp_version IS 3),
	sum(ntp_version IS 4), sum(ntp_version IS 5), sum(ntp_version IS 6), sum(ntp_version IS 7), 0
FROM ntp_clients NOT INDEXED GROUP BY interface_name;

-- A commit adds to the totals itself, once per interface (Store.Commit):
-- the sums and extremes of every row it upserts, the rows it inserts, and
-- the changes of the counts of clients by a property (a KoD, a latency,
-- an answer, the latest version), for which it reads the stored rows'
-- values first. A trigger on every updated row did the last, at half
-- again the cost of a commit.
-- A cleanup deletes rows in chunks of a few thousand, each row taken off
-- its totals here.
CREATE TRIGGER interface_totals_delete AFTER DELETE ON ntp_clients BEGIN
	UPDATE interface_totals SET
		clients = clients - 1,
		sessions = sessions - OLD.session_count,
		answered = answered - OLD.answered_count,
		unanswered = unanswered - OLD.unanswered_count,
		kod = kod - OLD.kod_count,
		clients_with_kod = clients_with_kod - (OLD.kod_count > 0),
		mode1 = mode1 - OLD.mode1_count, mode2 = mode2 - OLD.mode2_count, mode5 = mode5 - OLD.mode5_count,
		mode6 = mode6 - OLD.mode6_count, mode7 = mode7 - OLD.mode7_count,
		latency_count = latency_count - OLD.latency_count,
		latency_clients = latency_clients - (OLD.latency_count > 0),
		latency_sum = latency_sum - OLD.latency_sum,
		answered_clients = answered_clients - (OLD.answered_count > 0),
		processing_sum = processing_sum - OLD.processing_sum,
		total_sum = total_sum - OLD.total_sum,
		no_version = no_version - (OLD.ntp_version IS NULL),
		version0 = version0 - (OLD.ntp_version IS 0), version1 = version1 - (OLD.ntp_version IS 1),
		version2 = version2 - (OLD.ntp_version IS 2), version3 = version3 - (OLD.ntp_version IS 3),
		version4 = version4 - (OLD.ntp_version IS 4), version5 = version5 - (OLD.ntp_version IS 5),
		version6 = version6 - (OLD.ntp_version IS 6), version7 = version7 - (OLD.ntp_version IS 7),
		extremes_stale = 1
	WHERE interface_name = OLD.interface_name;
END;
