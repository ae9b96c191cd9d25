// Package store keeps the NTP client inventory in SQLite: one row per
// (client address, capture interface), folded from batches of sessions.
//
// Sessions come from the collector's ingestion (package ingest), which
// folds them into a [Batch] and hands it to [Store.Commit]; the rows go out
// to the HTTP API (package httpapi) through the read methods below. Nothing
// else writes the database, and the package knows nothing of the wire
// protocol, of HTTP or of how its rows are rendered: it speaks in
// [session.Session] values in and [Client] rows out.
//
// # Writing
//
// [Batch] folds sessions in memory, one pending row per client and
// interface; [Store.Commit] upserts them and raises each worker's
// high-water seq ([Store.HighWater]) in one transaction. [Store.Cleanup]
// deletes old clients in bounded chunks; [Store.SetMonitored] and
// [Store.DeleteMonitored] keep the supervisor's desired state. Schema
// changes are the numbered files in migrations/, applied by [Open].
//
// # The traffic series
//
// Beside the client rows, the same batch folds every session into a
// [SeriesBucket] of its interface and of the minute of its capture time
// (C1), however late it arrives; the commit merges those buckets into
// series_minute and the hours and UTC days they roll up to into
// series_hour and series_day, in the transaction that upserts the clients
// and raises the high-water seqs, so that after any crash the three agree.
// A bucket's counts add and its sketches merge (distinct clients in a
// HyperLogLog, package hll; timings in log-scale histograms, package
// loghist, within 1.09 % at any percentile), so any range reads as one
// bucket: [Store.Series] per step from the coarsest table the step allows,
// [Store.SeriesTotals] over a whole range from whole days, the whole hours
// at their ends and the ragged minutes. What lies more than a few minutes
// before now is merged once and kept until a write reaches it (a late
// session, a cleanup: series_info.settled_writes counts them), so a long
// range costs the read of its last minutes. [Store.SeriesStart] is when
// the series began: a database migrated from before it has no series for
// its past.
//
// # Reading
//
// [Store.ListClients], [Store.ClientsByIP] and [Store.CountClients] select
// rows by a [ClientFilter] in a [Sort] order; [Store.ExportRendered]
// streams every matching row through a render function in parallel;
// [Store.InterfaceStatistics] summarises each interface from
// interface_totals, which every commit keeps in its own transaction (a
// trigger takes deleted rows off), and from counts that every commit moves
// in memory: the clients by the minute they were last seen and by the
// bucket of their means (kept.go). Every read runs on the query-only pool.
//
// # The client row
//
// Each column of ntp_clients is described once, in clientTable
// (columns.go): its name, SQL type and nullability, the field of [Client]
// it scans into, how a batch row binds it and how the upsert folds it into
// the stored row. The select list, the scan targets and the upsert are
// built from that table, and [ClientColumns] and [DerivedColumns] hand it
// to the API, which renders its rows from it. A test holds the table
// against the schema the migrations make.
//
// A derived column (a mean, the answer ratio, the request interval) is
// computed from a row, in Go for the API's rows and in SQL for the sorts
// and filters by it ([SortProcessing], [SortInterval],
// ClientFilter.MaxInterval); both forms sit side by side in columns.go, and
// a test holds them equal over stored rows.
//
// # Connections
//
// The database runs in WAL mode through modernc.org/sqlite (pure Go). One
// connection writes, with every transaction begun IMMEDIATE so a read never
// has to be upgraded to a write lock; a separate pool of query-only
// connections serves readers, which WAL lets run alongside the writer.
//
// # Durability
//
// The default synchronous level is FULL. The collector
// acknowledges sessions once their batch is committed and workers then forget
// them, so a commit must be durable when it returns. In WAL mode FULL fsyncs
// the WAL at every commit. NORMAL skips that fsync: a commit survives the
// process being killed (the data is in the kernel's page cache) but an
// operating-system crash or power loss can roll back the last commits, which
// were already acknowledged, and those sessions are lost for good. The
// database stays consistent either way: rows and each worker's high-water seq
// share a transaction and roll back together.
//
// FULL costs one fsync per commit, and what that costs depends on the disk
// and on what else is writing to it. Measured on a 2-core VM with ext4 on
// virtio (BenchmarkCommit, 10,000 clients): at 100-session batches FULL adds
// 0.4 to 3 ms to a 4 ms commit; at 1,000 to 50,000 sessions the two levels
// were within run-to-run noise while the disk was otherwise idle, and FULL
// took twice as long (p50 415 against 213 ms at 50,000) while other
// processes were writing. [Store.Sync] offers a third way: commit at NORMAL,
// fsync beside the next commit, and acknowledge once Sync returns
// (BenchmarkCommitSyncBehind: NORMAL's throughput, FULL's guarantee for what
// is acknowledged).
//
// # Faults
//
// The faults an operator can mend (a corrupted file, a full disk, a lock
// held by another process, a read-only file or directory) come back
// wrapping one of the package's sentinel errors, with the file and a hint.
package store
