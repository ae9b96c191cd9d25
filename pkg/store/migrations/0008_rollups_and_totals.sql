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
-- the interface statistics list, kept by triggers in the transaction that
-- writes the rows (a commit's upserts, a cleanup's deletes), so that a
-- client stored is counted at once and no read scans ntp_clients for them.
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

-- A row counts as its values on insert, as the difference on update (an
-- upsert that folds a batch row into it), and negatively on delete.
-- SQLite's two-argument min and max are NULL when either side is: coalesce
-- keeps whichever side has a value.
CREATE TRIGGER interface_totals_insert AFTER INSERT ON ntp_clients BEGIN
	INSERT INTO interface_totals (interface_name, clients, sessions, answered, unanswered, kod, clients_with_kod,
		mode1, mode2, mode5, mode6, mode7,
		latency_count, latency_clients, latency_sum, latency_min, latency_max,
		answered_clients, processing_sum, processing_min, processing_max, total_sum, total_min, total_max,
		first_seen, last_seen, no_version,
		version0, version1, version2, version3, version4, version5, version6, version7)
	VALUES (NEW.interface_name, 1, NEW.session_count, NEW.answered_count, NEW.unanswered_count, NEW.kod_count, NEW.kod_count > 0,
		NEW.mode1_count, NEW.mode2_count, NEW.mode5_count, NEW.mode6_count, NEW.mode7_count,
		NEW.latency_count, NEW.latency_count > 0, NEW.latency_sum, NEW.latency_min, NEW.latency_max,
		NEW.answered_count > 0, NEW.processing_sum, NEW.processing_min, NEW.processing_max,
		NEW.total_sum, NEW.total_min, NEW.total_max,
		NEW.first_seen_timestamp, NEW.last_seen_timestamp, NEW.ntp_version IS NULL,
		NEW.ntp_version IS 0, NEW.ntp_version IS 1, NEW.ntp_version IS 2, NEW.ntp_version IS 3,
		NEW.ntp_version IS 4, NEW.ntp_version IS 5, NEW.ntp_version IS 6, NEW.ntp_version IS 7)
	ON CONFLICT (interface_name) DO UPDATE SET
		clients = clients + 1,
		sessions = sessions + excluded.sessions,
		answered = answered + excluded.answered,
		unanswered = unanswered + excluded.unanswered,
		kod = kod + excluded.kod,
		clients_with_kod = clients_with_kod + excluded.clients_with_kod,
		mode1 = mode1 + excluded.mode1, mode2 = mode2 + excluded.mode2, mode5 = mode5 + excluded.mode5,
		mode6 = mode6 + excluded.mode6, mode7 = mode7 + excluded.mode7,
		latency_count = latency_count + excluded.latency_count,
		latency_clients = latency_clients + excluded.latency_clients,
		latency_sum = latency_sum + excluded.latency_sum,
		latency_min = coalesce(min(latency_min, excluded.latency_min), latency_min, excluded.latency_min),
		latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max),
		answered_clients = answered_clients + excluded.answered_clients,
		processing_sum = processing_sum + excluded.processing_sum,
		processing_min = coalesce(min(processing_min, excluded.processing_min), processing_min, excluded.processing_min),
		processing_max = coalesce(max(processing_max, excluded.processing_max), processing_max, excluded.processing_max),
		total_sum = total_sum + excluded.total_sum,
		total_min = coalesce(min(total_min, excluded.total_min), total_min, excluded.total_min),
		total_max = coalesce(max(total_max, excluded.total_max), total_max, excluded.total_max),
		first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
		last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen),
		no_version = no_version + excluded.no_version,
		version0 = version0 + excluded.version0, version1 = version1 + excluded.version1,
		version2 = version2 + excluded.version2, version3 = version3 + excluded.version3,
		version4 = version4 + excluded.version4, version5 = version5 + excluded.version5,
		version6 = version6 + excluded.version6, version7 = version7 + excluded.version7;
END;

-- interface_name and client_ip are the upsert's conflict key and never
-- change, so an update stays on its interface's totals row, which the
-- insert of the row created.
CREATE TRIGGER interface_totals_update AFTER UPDATE ON ntp_clients BEGIN
	UPDATE interface_totals SET
		sessions = sessions + NEW.session_count - OLD.session_count,
		answered = answered + NEW.answered_count - OLD.answered_count,
		unanswered = unanswered + NEW.unanswered_count - OLD.unanswered_count,
		kod = kod + NEW.kod_count - OLD.kod_count,
		clients_with_kod = clients_with_kod + (NEW.kod_count > 0) - (OLD.kod_count > 0),
		mode1 = mode1 + NEW.mode1_count - OLD.mode1_count, mode2 = mode2 + NEW.mode2_count - OLD.mode2_count,
		mode5 = mode5 + NEW.mode5_count - OLD.mode5_count, mode6 = mode6 + NEW.mode6_count - OLD.mode6_count,
		mode7 = mode7 + NEW.mode7_count - OLD.mode7_count,
		latency_count = latency_count + NEW.latency_count - OLD.latency_count,
		latency_clients = latency_clients + (NEW.latency_count > 0) - (OLD.latency_count > 0),
		latency_sum = latency_sum + NEW.latency_sum - OLD.latency_sum,
		latency_min = coalesce(min(latency_min, NEW.latency_min), latency_min, NEW.latency_min),
		latency_max = coalesce(max(latency_max, NEW.latency_max), latency_max, NEW.latency_max),
		answered_clients = answered_clients + (NEW.answered_count > 0) - (OLD.answered_count > 0),
		processing_sum = processing_sum + NEW.processing_sum - OLD.processing_sum,
		processing_min = coalesce(min(processing_min, NEW.processing_min), processing_min, NEW.processing_min),
		processing_max = coalesce(max(processing_max, NEW.processing_max), processing_max, NEW.processing_max),
		total_sum = total_sum + NEW.total_sum - OLD.total_sum,
		total_min = coalesce(min(total_min, NEW.total_min), total_min, NEW.total_min),
		total_max = coalesce(max(total_max, NEW.total_max), total_max, NEW.total_max),
		first_seen = coalesce(min(first_seen, NEW.first_seen_timestamp), first_seen, NEW.first_seen_timestamp),
		last_seen = coalesce(max(last_seen, NEW.last_seen_timestamp), last_seen, NEW.last_seen_timestamp),
		no_version = no_version + (NEW.ntp_version IS NULL) - (OLD.ntp_version IS NULL),
		version0 = version0 + (NEW.ntp_version IS 0) - (OLD.ntp_version IS 0),
		version1 = version1 + (NEW.ntp_version IS 1) - (OLD.ntp_version IS 1),
		version2 = version2 + (NEW.ntp_version IS 2) - (OLD.ntp_version IS 2),
		version3 = version3 + (NEW.ntp_version IS 3) - (OLD.ntp_version IS 3),
		version4 = version4 + (NEW.ntp_version IS 4) - (OLD.ntp_version IS 4),
		version5 = version5 + (NEW.ntp_version IS 5) - (OLD.ntp_version IS 5),
		version6 = version6 + (NEW.ntp_version IS 6) - (OLD.ntp_version IS 6),
		version7 = version7 + (NEW.ntp_version IS 7) - (OLD.ntp_version IS 7)
	WHERE interface_name = NEW.interface_name;
END;

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
