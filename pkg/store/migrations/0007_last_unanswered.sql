-- When the client's latest unanswered request was captured, so that the
-- client list can select the clients that went unanswered in a window
-- ("in the last hour"). Rows from before stay NULL: the past is not known.
-- No index: a recent window selects few rows, but a scan of ntp_clients
-- already serves it at the cost the README's performance section gives for
-- an unindexed filter, and an index would add a write to every upsert of a
-- client that goes unanswered (see the README's client list section).
ALTER TABLE ntp_clients ADD COLUMN last_unanswered_timestamp TEXT;
