// Package retention deletes what the collector keeps for a limited time:
// minute buckets of the traffic series (by default after 8 days), hour
// buckets (400 days) and, when asked, client rows not seen for a while
// (off by default). A [Runner] runs once at start and then on a schedule;
// each kind is deleted in chunks of its own transactions (see
// store.Store.DeleteSeriesBefore), so ingestion's commits wait behind one
// chunk at most, never behind a whole clean-up. Every pass that deletes
// something logs one line, and the rows deleted are counted by table in
// ntp_collector_retention_deleted_total, which [Runner.Collector] exports.
//
// A retention is written as a Go duration (36h) or a number of days (8d);
// "off" or 0 keeps for ever ([ParseAge]).
package retention
