-- The identity a worker run's id is bound to, so that another peer with the
-- shared token cannot take the id over: "x509:" and the name of the client
-- certificate the worker first presented, or "secret:" and the SHA-256 of the
-- per-run secret in its first hello. NULL for a worker run that presented
-- neither (a worker older than the binding), which stays unbound. Kept with
-- the high-water seq, so that the binding survives a collector restart.
ALTER TABLE worker_seq ADD COLUMN binding TEXT;
