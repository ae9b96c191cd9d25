-- The interfaces the collector's supervisor should be capturing on: its
-- desired state, kept across restarts. options is the worker's settings as a
-- JSON object; enabled says whether a worker should be running for it.
CREATE TABLE monitored_interfaces (
	name TEXT PRIMARY KEY,
	options TEXT NOT NULL,
	enabled INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
