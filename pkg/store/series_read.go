package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
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
	// coarsest stored resolution that divides it is read: hours for a
	// step of whole hours, minutes otherwise.
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
	err = s.readSeries(ctx, table, start, start+n*stepSecs, q.Interfaces, func(iface string, bucket int64, r *storedBucket) error {
		ser := add(iface)
		return ser.Points[(bucket-start)/stepSecs].mergeStored(r)
	})
	if err != nil {
		return res, err
	}
	// Interfaces asked for come first, as asked; the others in name order.
	return res, nil
}

// SeriesTotals merges the series of [from, to), rounded to minutes, into
// one bucket per interface: whole hours from the hour table, the minutes
// at either end from the minute table. ifaces limits the interfaces (nil:
// every one).
func (s *Store) SeriesTotals(ctx context.Context, from, to time.Time, ifaces []string) (map[string]*SeriesBucket, error) {
	if from.After(to) {
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrSeriesQuery, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	minute, hour := int64(MinuteStep/time.Second), int64(HourStep/time.Second)
	lo := floorDiv(from.Unix(), minute) * minute
	hi := floorDiv(to.Unix()+minute-1, minute) * minute
	hlo := floorDiv(lo+hour-1, hour) * hour // first whole hour
	hhi := floorDiv(hi, hour) * hour        // end of the last whole hour
	out := make(map[string]*SeriesBucket)
	into := func(iface string, _ int64, r *storedBucket) error {
		b := out[iface]
		if b == nil {
			b = new(SeriesBucket)
			out[iface] = b
		}
		return b.mergeStored(r)
	}
	var spans [][3]any
	if hlo < hhi {
		spans = append(spans, [3]any{"series_minute", lo, hlo}, [3]any{"series_hour", hlo, hhi}, [3]any{"series_minute", hhi, hi})
	} else {
		spans = append(spans, [3]any{"series_minute", lo, hi})
	}
	for _, sp := range spans {
		if sp[1].(int64) >= sp[2].(int64) {
			continue
		}
		if err := s.readSeries(ctx, sp[0].(string), sp[1].(int64), sp[2].(int64), ifaces, into); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readSeries calls row for every stored bucket of table in [lo, hi) on
// ifaces (nil: all), in interface and time order.
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
	sb.WriteString(" ORDER BY interface_name, bucket")
	rows, err := s.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return s.wrap("read "+table, err)
	}
	defer rows.Close()
	var iface string
	var bucket int64
	var r storedBucket
	dest := append([]any{&iface, &bucket}, r.dest()...)
	for rows.Next() {
		r = storedBucket{}
		if err := rows.Scan(dest...); err != nil {
			return s.wrap("read "+table, err)
		}
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
	var sec int64
	err := s.r.QueryRowContext(ctx, "SELECT series_start FROM series_info WHERE id = 1").Scan(&sec)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("store: %s: series_info has no row", s.path)
	}
	if err != nil {
		return time.Time{}, s.wrap("read series start", err)
	}
	return time.Unix(sec, 0).UTC(), nil
}
