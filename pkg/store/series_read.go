package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
)

// MaxSeriesPoints caps the points of one interface's series in one read:
// eight days of minutes (the default minute retention at a 60 s step). A
// range over 400 days asks for a coarser step.
const MaxSeriesPoints = 11520

// SeriesQuery selects a range of the traffic series.
type SeriesQuery struct {
	// From and To bound the range: the points start at From rounded down
	// to a multiple of Step (Unix time) and end before To.
	From, To time.Time
	// Step is each point's span, a positive multiple of a minute. The
	// coarsest stored resolution that divides it is read: days for a step
	// of whole days, hours for one of whole hours, minutes otherwise.
	Step time.Duration
	// Interfaces limits the series to these interfaces, each present even
	// with no traffic; nil reads every interface with traffic in range.
	Interfaces []string
}

// SeriesPoint is one point of a series: the traffic of [Start, Start+Step).
type SeriesPoint struct {
	Start time.Time
	SeriesBucket
}

// InterfaceSeries is the series of one interface, one point per step,
// zero-filled: a point without traffic is there, with empty sketches.
type InterfaceSeries struct {
	Interface string
	Points    []SeriesPoint
}

// SeriesResult is what Series read.
type SeriesResult struct {
	Step     time.Duration
	From, To time.Time // From as rounded down to the step
	// Start is when the series began (SeriesStart): a range before it has
	// no traffic because nothing was recorded then, not because there was
	// none.
	Start  time.Time
	Series []InterfaceSeries
}

// Check reports what is wrong with q, wrapping ErrSeriesQuery.
func (q SeriesQuery) Check() error {
	switch {
	case q.Step <= 0 || q.Step%MinuteStep != 0:
		return fmt.Errorf("%w: step %s is not a positive multiple of 60s", ErrSeriesQuery, q.Step)
	case q.From.After(q.To):
		return fmt.Errorf("%w: from %s is after to %s", ErrSeriesQuery, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	if n := q.points(); n > MaxSeriesPoints {
		return fmt.Errorf("%w: %d points of %s from %s to %s, more than %d: widen the step",
			ErrSeriesPoints, n, q.Step, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), MaxSeriesPoints)
	}
	return nil
}

// start is From rounded down to the step, in Unix seconds.
func (q SeriesQuery) start() int64 {
	step := int64(q.Step / time.Second)
	return floorDiv(q.From.Unix(), step) * step
}

// points is how many steps from start() it takes to reach To.
func (q SeriesQuery) points() int64 {
	step := int64(q.Step / time.Second)
	end := q.To.Unix()
	if q.To.Nanosecond() > 0 {
		end++ // a point that starts before To is in range
	}
	return max(0, floorDiv(end-q.start()+step-1, step))
}

// Series reads the series of q, merging the stored buckets of each step.
func (s *Store) Series(ctx context.Context, q SeriesQuery) (SeriesResult, error) {
	if err := q.Check(); err != nil {
		return SeriesResult{}, err
	}
	stepSecs := int64(q.Step / time.Second)
	start, n := q.start(), q.points()
	res := SeriesResult{Step: q.Step, From: time.Unix(start, 0).UTC(), To: q.To.UTC()}
	var err error
	if res.Start, err = s.SeriesStart(ctx); err != nil {
		return res, err
	}
	table := seriesTables[0].table
	for _, t := range seriesTables {
		if q.Step%t.step == 0 {
			table = t.table
		}
	}
	byIface := make(map[string]int)
	add := func(iface string) *InterfaceSeries {
		i, ok := byIface[iface]
		if !ok {
			i = len(res.Series)
			byIface[iface] = i
			pts := make([]SeriesPoint, n)
			for j := range pts {
				pts[j].Start = time.Unix(start+int64(j)*stepSecs, 0).UTC()
			}
			res.Series = append(res.Series, InterfaceSeries{Interface: iface, Points: pts})
		}
		return &res.Series[i]
	}
	for _, iface := range q.Interfaces {
		add(iface)
	}
	asked := len(res.Series)
	// Every row lands in its point whatever the order it comes in, so the
	// rows are read unsorted (sorting rows of blobs costs more than the
	// merge) and the interfaces put in order afterwards.
	err = s.readSeries(ctx, table, start, start+n*stepSecs, q.Interfaces, func(iface string, bucket int64, r *storedBucket) error {
		ser := add(iface)
		return ser.Points[(bucket-start)/stepSecs].mergeStored(r)
	})
	if err != nil {
		return res, err
	}
	// Interfaces asked for come first, as asked; the others in name order.
	slices.SortStableFunc(res.Series[asked:], func(a, b InterfaceSeries) int {
		return strings.Compare(a.Interface, b.Interface)
	})
	return res, nil
}

// SeriesTotals merges the series of [from, to), rounded to minutes, into
// one bucket per interface, reading as few stored buckets as cover it: the
// whole days from the day table, the whole hours at either end of them
// from the hour table and the minutes at either end of those from the
// minute table (at most 2×59 minutes, 2×23 hours and the days between per
// interface). Every level is the same traffic rolled up, so the result is
// the range's minutes merged. ifaces limits the interfaces (nil: every
// one).
//
// An end whose minutes retention has deleted (before the cutoff the
// cleanup recorded) is widened to its whole hour, whose bucket holds them,
// and an end whose hours it has deleted to its whole day: read as asked,
// the part of the range in that hour would count nothing. The range
// returned is the one the totals are of.
func (s *Store) SeriesTotals(ctx context.Context, from, to time.Time, ifaces []string) (map[string]*SeriesBucket, SeriesRange, error) {
	if from.After(to) {
		return nil, SeriesRange{}, fmt.Errorf("%w: from %s is after to %s", ErrSeriesQuery, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	minute := int64(MinuteStep / time.Second)
	lo := floorDiv(from.Unix(), minute) * minute
	hi := floorDiv(to.Unix()+minute-1, minute) * minute
	// Read before any bucket: what a kept merge is of, and where retention
	// has deleted.
	v, err := s.readSeriesVersions(ctx)
	if err != nil {
		return nil, SeriesRange{}, err
	}
	lo, hi = widenToKept(lo, hi, v.deleted)
	covered := SeriesRange{From: time.Unix(lo, 0).UTC(), To: time.Unix(hi, 0).UTC()}
	out := make(map[string]*SeriesBucket)
	if cut := settledCut(lo, hi, s.clock.now()); cut > lo {
		past, err := s.settledTotals(ctx, lo, cut, ifaces, v.settledWrites)
		if err != nil {
			return nil, SeriesRange{}, err
		}
		mergeInto(out, past)
		lo = cut
	}
	out, err = s.recentTotals(ctx, lo, hi, ifaces, v, out)
	return out, covered, err
}

// SeriesRange is the range a read of the series is of.
type SeriesRange struct{ From, To time.Time }

// seriesVersions are what SeriesTotals reads of the series before any of
// its buckets, in one query.
type seriesVersions struct {
	// deleted is, for each level but the coarsest, the cutoff before which
	// retention deleted its buckets (series_info; NULL: never).
	deleted []sql.NullInt64
	// settledWrites, changes and commits are the versions the kept merges
	// are under (series_memo.go).
	settledWrites, changes, commits int64
}

// readSeriesVersions reads the series' versions. The Store's count of
// commits is read first: a commit it counts is in the file by then.
func (s *Store) readSeriesVersions(ctx context.Context) (seriesVersions, error) {
	v := seriesVersions{commits: s.commits.Load(), deleted: make([]sql.NullInt64, len(seriesTables)-1)}
	cols := []string{"settled_writes", "(SELECT coalesce(sum(changes), 0) FROM interface_totals)"}
	dest := []any{&v.settledWrites, &v.changes}
	for i, t := range seriesTables[:len(seriesTables)-1] {
		cols = append(cols, t.deleted)
		dest = append(dest, &v.deleted[i])
	}
	if err := s.r.QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM series_info WHERE id = 1").Scan(dest...); err != nil {
		return v, s.wrap("read series_info", err)
	}
	return v, nil
}

// widenToKept widens [lo, hi) at an end that lies in a bucket of the next
// coarser level where retention has deleted its own level's buckets
// (before deleted[level]), to that coarser bucket, level by level.
func widenToKept(lo, hi int64, deleted []sql.NullInt64) (int64, int64) {
	for level, c := range deleted {
		if !c.Valid {
			continue
		}
		step := int64(seriesTables[level+1].step / time.Second)
		if lo%step != 0 && lo < c.Int64 {
			lo = floorDiv(lo, step) * step
		}
		if end := floorDiv(hi, step) * step; hi%step != 0 && end < c.Int64 {
			hi = end + step
		}
	}
	return lo, hi
}

// seriesSpan is [lo, hi) of one resolution's buckets, in Unix seconds.
type seriesSpan struct {
	level  int // index in seriesTables
	lo, hi int64
}

// coverSpans covers [lo, hi), on whole minutes, with the fewest buckets:
// each level takes what lies between the first and the last whole bucket
// of the next coarser one, and leaves the ends to the finer.
func coverSpans(lo, hi int64) []seriesSpan {
	var out []seriesSpan
	var cover func(level int, lo, hi int64)
	cover = func(level int, lo, hi int64) {
		if lo >= hi {
			return
		}
		if level+1 < len(seriesTables) {
			step := int64(seriesTables[level+1].step / time.Second)
			clo := floorDiv(lo+step-1, step) * step // first whole coarser bucket
			chi := floorDiv(hi, step) * step        // end of the last one
			if clo < chi {
				cover(level, lo, clo)
				cover(level+1, clo, chi)
				cover(level, chi, hi)
				return
			}
		}
		out = append(out, seriesSpan{level, lo, hi})
	}
	cover(0, lo, hi)
	return out
}

// readSeries calls row for every stored bucket of table in [lo, hi) on
// ifaces (nil: all), in whatever order the table gives them: a merge does
// not care, and sorting rows of blobs is not free.
func (s *Store) readSeries(ctx context.Context, table string, lo, hi int64, ifaces []string, row func(iface string, bucket int64, r *storedBucket) error) error {
	var sb strings.Builder
	sb.WriteString("SELECT interface_name, bucket, " + seriesColumns + " FROM " + table + " WHERE bucket >= ? AND bucket < ?")
	args := []any{lo, hi}
	if ifaces != nil {
		j, err := json.Marshal(ifaces)
		if err != nil {
			return err
		}
		sb.WriteString(" AND interface_name IN (SELECT value FROM json_each(?))")
		args = append(args, string(j))
	}
	rows, err := s.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return s.wrap("read "+table, err)
	}
	defer rows.Close()
	var iface string
	var bucket int64
	var r storedBucket
	// The blobs are scanned as sql.RawBytes, the driver's own copy, valid
	// until the next row: row merges them at once, and a second copy of
	// every 4 KiB sketch would cost as much as merging it.
	var blobs [4]sql.RawBytes
	dest := append([]any{&iface, &bucket}, r.dest()...)
	for i := range blobs {
		dest[len(dest)-len(blobs)+i] = &blobs[i]
	}
	scratch := new([3]loghist.Decoded)
	for rows.Next() {
		r = storedBucket{scratch: scratch}
		if err := rows.Scan(dest...); err != nil {
			return s.wrap("read "+table, err)
		}
		r.clients, r.proc, r.wire, r.latency = blobs[0], blobs[1], blobs[2], blobs[3]
		if err := row(iface, bucket, &r); err != nil {
			return fmt.Errorf("store: read %s %s at %d: %w", table, iface, bucket, err)
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read "+table, err)
	}
	return nil
}

// SeriesStart is when the series began: when the schema that keeps it was
// applied to this database.
func (s *Store) SeriesStart(ctx context.Context) (time.Time, error) {
	// Written once, by the migration that made the series: read once.
	if sec := s.seriesStart.Load(); sec != 0 {
		return time.Unix(sec, 0).UTC(), nil
	}
	var sec int64
	err := s.r.QueryRowContext(ctx, "SELECT series_start FROM series_info WHERE id = 1").Scan(&sec)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("store: %s: series_info has no row", s.path)
	}
	if err != nil {
		return time.Time{}, s.wrap("read series start", err)
	}
	s.seriesStart.Store(sec)
	return time.Unix(sec, 0).UTC(), nil
}
