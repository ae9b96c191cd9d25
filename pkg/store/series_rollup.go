package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// backfillDays is migration 0008's Go step: it fills series_day from the
// hours already stored, one interface's day at a time, so that a database
// upgraded in place answers a long range from its days at once. Blobs
// merge in Go, hence a step of its own; it runs in the migration's
// transaction.
func backfillDays(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT interface_name, bucket, "+seriesColumns+" FROM series_hour ORDER BY interface_name, bucket")
	if err != nil {
		return fmt.Errorf("read series_hour: %w", err)
	}
	defer rows.Close()
	put, err := tx.PrepareContext(ctx, seriesPutSQL("series_day"))
	if err != nil {
		return fmt.Errorf("prepare series_day: %w", err)
	}
	defer put.Close()
	daySecs := int64(DayStep / time.Second)
	var cur seriesKey
	day := new(SeriesBucket)
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		args, err := day.RowValues()
		if err != nil {
			return fmt.Errorf("encode series_day %s at %d: %w", cur.iface, cur.start, err)
		}
		if _, err := put.ExecContext(ctx, append([]any{cur.iface, cur.start}, args...)...); err != nil {
			return fmt.Errorf("write series_day %s at %d: %w", cur.iface, cur.start, err)
		}
		day = new(SeriesBucket)
		return nil
	}
	var iface string
	var bucket int64
	var r storedBucket
	dest := append([]any{&iface, &bucket}, r.dest()...)
	for rows.Next() {
		r = storedBucket{}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read series_hour: %w", err)
		}
		k := seriesKey{iface: iface, start: floorDiv(bucket, daySecs) * daySecs}
		if have && k != cur {
			if err := flush(); err != nil {
				return err
			}
		}
		cur, have = k, true
		if err := day.mergeStored(&r); err != nil {
			return fmt.Errorf("read series_hour %s at %d: %w", iface, bucket, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read series_hour: %w", err)
	}
	return flush()
}
