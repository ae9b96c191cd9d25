package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Synchronous levels accepted in Options.
const (
	SynchronousNormal = "NORMAL"
	SynchronousFull   = "FULL"
)

// Options tunes Open. The zero value is the production default.
type Options struct {
	// Synchronous is SynchronousFull (default) or SynchronousNormal, in
	// any letter case; see the package documentation for the trade.
	Synchronous string
	// BusyTimeout is how long a connection waits for a lock held by another
	// connection or process; default 5s.
	BusyTimeout time.Duration
	// ReadConns caps the read pool; default 4.
	ReadConns int
	// CacheKiB is the writer's page cache in KiB; default 65536 (64 MiB).
	// Each reader gets a quarter of it. The cache fills only as pages are
	// read, so a small database uses little of it.
	CacheKiB int
	// QuickCheck runs PRAGMA quick_check at Open. It reads the whole file,
	// so it costs time proportional to the database size.
	QuickCheck bool
	// Logger receives migration and fault messages; default slog.Default().
	Logger *slog.Logger
}

// Store is an open inventory database.
type Store struct {
	path string
	w    *sql.DB // one connection, IMMEDIATE transactions
	r    *sql.DB // query-only pool
	log  *slog.Logger

	upsert  *sql.Stmt
	seqStmt *sql.Stmt
	series  []seriesStmts // one per seriesTables entry

	clock       clock                                      // the series' now, never going back
	settled     memo[settledKey, map[string]*SeriesBucket] // merges of the series' settled past (series_memo.go)
	recent      memo[recentKey, map[string]*SeriesBucket]  // merges of the minutes after it, of one commit
	commits     atomic.Int64                               // commits made, for recentKey
	seriesStart atomic.Int64                               // series_info.series_start once read (Unix seconds)
	active      memo[activeKey, activeCounts]              // clients seen in the last hour and day (statistics.go)
	activity    activity                                   // the same by the minute, moved by each commit (activity.go)
	meanPct     memo[meansKey, ClientMeans]                // percentiles of the per-client means (client_means.go)
	means       clientMeans                                // their buckets, moved by each commit

	// seriesOff makes Commit write the client rows and seqs alone, as
	// before the series: the reference BenchmarkCommitSeries measures the
	// series' cost against. Nothing else sets it.
	seriesOff bool
	// totalsOff makes Commit leave interface_totals alone, for the
	// benchmark that measures what keeping them costs.
	totalsOff bool
}

// Open opens or creates the database at path, creating its directory, and
// applies any migrations the file lacks. What it creates is private to the
// user it runs as (filemode.go). It refuses a file written by a newer
// schema version and explains corrupted files and unwritable directories.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	opts = opts.withDefaults()
	switch opts.Synchronous {
	case SynchronousNormal, SynchronousFull:
	default:
		return nil, fmt.Errorf("store: synchronous level %q: want %s or %s", opts.Synchronous, SynchronousNormal, SynchronousFull)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: database path %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("store: create database directory %s: %w", dir, classifyFSErr(err))
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("store: database path %s is a directory", abs)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("store: create database file %s: %w", abs, classifyFSErr(err))
	}
	restrictOthers(abs, opts.Logger)

	s := &Store{path: abs, log: opts.Logger}
	s.settled.size, s.recent.size, s.active.size, s.meanPct.size = settledKept, recentKept, activeKept, meansKept
	s.w, err = sql.Open("sqlite", dsn(abs, opts, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	if err := s.init(ctx, opts); err != nil {
		s.w.Close()
		return nil, err
	}

	s.r, err = sql.Open("sqlite", dsn(abs, opts, true))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open read pool %s: %w", abs, err)
	}
	s.r.SetMaxOpenConns(opts.ReadConns)
	s.r.SetMaxIdleConns(opts.ReadConns)
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, s.wrap("open read pool", err)
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	o.Synchronous = strings.ToUpper(o.Synchronous)
	if o.Synchronous == "" {
		o.Synchronous = SynchronousFull
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.CacheKiB <= 0 {
		o.CacheKiB = 64 << 10
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// dsn builds the connection string. Pragmas are per connection, so they go in
// the DSN where the driver applies them to every connection it opens.
func dsn(path string, opts Options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "synchronous("+opts.Synchronous+")")
	// The page cache is what keeps an upsert from reading the B-trees back
	// from the kernel: at SQLite's default 2 MiB, 10,000 clients already
	// spill, and commits took about three times as long.
	cache := opts.CacheKiB
	if readOnly {
		cache = max(cache/4, 2048)
	}
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cache)+")")
	q.Add("_time_format", "sqlite")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// After a burst the WAL is cut back to this size at the next
		// checkpoint instead of keeping its peak size on disk.
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Add("_txlock", "immediate")
	}
	// A file: URI with the path escaped, so that a '?', '#' or '%' in a
	// directory name reaches SQLite (which decodes it) as part of the path.
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// init checks the file, migrates it and prepares the write statements.
func (s *Store) init(ctx context.Context, opts Options) error {
	if err := s.w.PingContext(ctx); err != nil {
		return s.wrap("open", err)
	}
	if opts.QuickCheck {
		var res string
		if err := s.w.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
			return s.wrap("quick_check", err)
		}
		if res != "ok" {
			if lines := strings.SplitN(res, "\n", 4); len(lines) > 3 {
				res = strings.Join(lines[:3], "; ") + "; …"
			}
			return fmt.Errorf("store: %s: quick_check: %w (move the file aside to start a new database, or restore a backup): %s",
				s.path, ErrCorrupt, strings.ReplaceAll(res, "\n", "; "))
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	var err error
	if s.upsert, err = s.w.PrepareContext(ctx, upsertSQL); err != nil {
		return s.wrap("prepare upsert", err)
	}
	if s.seqStmt, err = s.w.PrepareContext(ctx, seqSQL); err != nil {
		return s.wrap("prepare worker_seq upsert", err)
	}
	return s.prepareSeries(ctx)
}

// Close closes both pools. The last connection to close checkpoints the WAL.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.upsert != nil {
		errs = append(errs, s.upsert.Close())
	}
	if s.seqStmt != nil {
		errs = append(errs, s.seqStmt.Close())
	}
	errs = append(errs, s.closeSeries()...)
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// ReadDB is the query-only pool for readers such as the HTTP API. Writes
// through it fail with SQLITE_READONLY.
func (s *Store) ReadDB() *sql.DB { return s.r }

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }
