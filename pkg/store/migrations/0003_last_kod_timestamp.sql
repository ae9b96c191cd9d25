-- When the kiss code in last_kod_code was seen, so that a batch of older
-- sessions arriving late cannot replace a newer code with an older one.
ALTER TABLE ntp_clients ADD COLUMN last_kod_timestamp TEXT;
