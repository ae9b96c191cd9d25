-- The traffic series: per capture interface, one row per minute and one per
-- hour (the minutes rolled up), written by the same transaction as the
-- client rows and the workers' high-water seqs. bucket is the Unix second
-- at which the bucket starts; a session lands in the bucket of its capture
-- time (C1), whenever it arrives.
--
-- requests = answered + unanswered; kod counts answered sessions whose
-- answer was a Kiss-o'-Death, kod_codes the same per code as a JSON object
-- ({"RATE":3}). version1..5 count requests by NTP version, mode1..7 the
-- other-mode packets. new_clients counts the clients whose row the batch
-- created (first seen on that interface), in the bucket of their first
-- packet. snaplen_cut counts datagrams the capture cut short.
--
-- The blobs are mergeable sketches (packages hll and loghist): clients is
-- a HyperLogLog of the client addresses seen, so that the distinct clients
-- of any range is the count of the merged sketches, not a sum; processing
-- (T3−T2), wire (C2−C1) and latency (T2−T1, where valid) are log-scale
-- histograms. NULL is an empty sketch.
CREATE TABLE series_minute (
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
-- A range over every interface, and retention, select by bucket alone.
CREATE INDEX series_minute_bucket ON series_minute (bucket);

CREATE TABLE series_hour (
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
CREATE INDEX series_hour_bucket ON series_hour (bucket);

-- When the series began: the time this migration ran. A database migrated
-- from an older schema has client rows from before it, but no series for
-- them: nothing is made up for the past.
CREATE TABLE series_info (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	series_start INTEGER NOT NULL
);
INSERT INTO series_info (id, series_start) VALUES (1, unixepoch());
