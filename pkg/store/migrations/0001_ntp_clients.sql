-- One row per client address and capture interface. The first block of
-- columns is the original schema: the "last packet" fields describe the
-- client's most recent session. The rest are running aggregates folded in by
-- every batch.
--
-- Times are TEXT in RFC 3339 UTC with nine fractional digits
-- (2026-11-25T17:51:41.123456789Z): readable in the sqlite3 shell, and
-- ordered as text the same way as in time. NTP timestamps are REAL Unix
-- seconds. client_ip is the canonical text form of the address;
-- client_ip_bytes is its 16-byte form (IPv4 as ::ffff:a.b.c.d) so that a
-- CIDR filter is an index range.
CREATE TABLE ntp_clients (
	id INTEGER PRIMARY KEY,
	client_ip TEXT NOT NULL,
	client_port INTEGER,
	server_ip TEXT,
	server_port INTEGER,
	interface_name TEXT NOT NULL,
	ntp_version INTEGER,
	stratum INTEGER,
	precision INTEGER,
	root_delay REAL,
	root_dispersion REAL,
	reference_id TEXT,
	leap_indicator TEXT,
	poll_interval INTEGER,
	reference_timestamp REAL,
	originate_timestamp REAL,
	receive_timestamp REAL,
	transmit_timestamp REAL,
	client_to_server_latency_seconds REAL,
	server_processing_time_seconds REAL,
	total_process_time_seconds REAL,
	packet_length INTEGER,
	session_timestamp TEXT,
	first_seen_timestamp TEXT NOT NULL,
	last_seen_timestamp TEXT NOT NULL,
	session_count INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,

	client_ip_bytes BLOB NOT NULL,
	mode INTEGER,
	answered_count INTEGER NOT NULL DEFAULT 0,
	unanswered_count INTEGER NOT NULL DEFAULT 0,
	kod_count INTEGER NOT NULL DEFAULT 0,
	last_kod_code TEXT,
	mode1_count INTEGER NOT NULL DEFAULT 0,
	mode2_count INTEGER NOT NULL DEFAULT 0,
	mode5_count INTEGER NOT NULL DEFAULT 0,
	mode6_count INTEGER NOT NULL DEFAULT 0,
	mode7_count INTEGER NOT NULL DEFAULT 0,
	-- Latency is absent for clients that hide their transmit time, so it has
	-- its own count; processing and total exist for every answered session.
	latency_count INTEGER NOT NULL DEFAULT 0,
	latency_min REAL,
	latency_max REAL,
	latency_sum REAL NOT NULL DEFAULT 0,
	processing_min REAL,
	processing_max REAL,
	processing_sum REAL NOT NULL DEFAULT 0,
	total_min REAL,
	total_max REAL,
	total_sum REAL NOT NULL DEFAULT 0,

	UNIQUE (client_ip, interface_name)
);
CREATE INDEX ntp_clients_last_seen ON ntp_clients (last_seen_timestamp);
CREATE INDEX ntp_clients_interface_last_seen ON ntp_clients (interface_name, last_seen_timestamp);
CREATE INDEX ntp_clients_ip_bytes ON ntp_clients (client_ip_bytes);

-- The highest session seq committed per worker run, written in the same
-- transaction as the rows it covers: the exactly-once guarantee rests on it.
CREATE TABLE worker_seq (
	worker_id TEXT PRIMARY KEY,
	interface_name TEXT NOT NULL,
	last_seq INTEGER NOT NULL,
	updated_at TEXT NOT NULL
);
