-- Indexes for the HTTP API's sort orders, so that the first pages of a list
-- sorted by these columns read a few index entries instead of sorting the
-- table. last_seen, interface and client_ip_bytes are indexed by 0001.
-- Each costs the writer an index update when its column changes.
CREATE INDEX ntp_clients_first_seen ON ntp_clients (first_seen_timestamp);
CREATE INDEX ntp_clients_session_count ON ntp_clients (session_count);
CREATE INDEX ntp_clients_unanswered ON ntp_clients (unanswered_count);
-- The expression must stay identical to the one in store.sortColumns.
CREATE INDEX ntp_clients_avg_latency ON ntp_clients ((latency_sum / NULLIF(latency_count, 0)));
-- An interface and an address range together (the common "this subnet on
-- that interface" filter) read one index range; the columns never change
-- after insert, so updates do not touch it.
CREATE INDEX ntp_clients_interface_ip ON ntp_clients (interface_name, client_ip_bytes);
