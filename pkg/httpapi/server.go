package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
)

// Ingest is what the API reads from the ingestion server.
type Ingest interface {
	Snapshot() ingest.Snapshot
	// Health reports why ingestion cannot take sessions, nil when it can.
	Health() error
}

// Supervisor is what the interface endpoints need from the worker
// supervisor. Its errors wrap the supervisor package's sentinels
// (ErrInvalid, ErrNoSuchInterface, ErrAlreadyRunning, ErrNotRunning,
// ErrWorkerBinary, ErrClosed), which choose the status code.
type Supervisor interface {
	Interfaces(ctx context.Context) ([]supervisor.InterfaceInfo, error)
	Start(ctx context.Context, name string, opts supervisor.Options) (supervisor.Status, error)
	Stop(ctx context.Context, name string) (supervisor.Status, error)
	Status(name string) (supervisor.Status, error)
}

// Defaults.
const (
	DefaultAddr = "127.0.0.1:8000"
	// DefaultExportLimit is the most rows one export writes; a request may
	// ask for fewer, never more.
	DefaultExportLimit = 10_000_000
	// DefaultStatsMaxAge is how long interface statistics are served from
	// the last computation before a new one starts. The computation reads
	// the whole table twice (about 3.5 s of CPU for 1,000,000 clients on a
	// 2-core machine), so it is kept to about one a minute.
	DefaultStatsMaxAge = time.Minute
	// DefaultCountMaxAge is how long a list total is reused per filter.
	DefaultCountMaxAge = 5 * time.Second
)

// Config configures a Server. Store is required; Ingest and Supervisor may
// be nil (the endpoints that need them then answer 503).
type Config struct {
	Addr       string
	Store      *store.Store
	Ingest     Ingest
	Supervisor Supervisor
	// Token, when set, must be presented as "Authorization: Bearer <token>"
	// on the mutating endpoints and on export.
	Token  string
	Logger *slog.Logger
	// Metrics is the Prometheus exporter; New makes one when nil. Make it
	// first with NewMetrics to feed its batch histogram from ingestion.
	Metrics *Metrics
	// StatsMaxAge: see DefaultStatsMaxAge. Negative computes every request.
	StatsMaxAge time.Duration
	// CountMaxAge is how long the total of a client list is reused for the
	// same filter (see DefaultCountMaxAge). Negative counts every request.
	CountMaxAge time.Duration
	// ExportLimit: see DefaultExportLimit.
	ExportLimit int64
	// ExportWorkers is how many read connections one export uses in
	// parallel; default min(GOMAXPROCS, 2).
	ExportWorkers int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Page, when set, serves the dashboard: GET and HEAD of / and /ui/….
	Page http.Handler
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *gin.Engine
	srv     *http.Server
	metrics *Metrics
	stats   *statsCache
	counts  *countCache
	// exportWorkers: see Config.ExportWorkers.
	exportWorkers int
	now           func() time.Time
	build         buildinfo.Info
	spec          specDoc
	// tokenSum is the SHA-256 of the token: comparing fixed-size digests in
	// constant time does not reveal the token's length either.
	tokenSum [sha256.Size]byte

	ctx    context.Context // ends at Shutdown; background statistics use it
	cancel context.CancelFunc
}

// New builds the server and its routes. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: no store")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StatsMaxAge == 0 {
		cfg.StatsMaxAge = DefaultStatsMaxAge
	}
	if cfg.CountMaxAge == 0 {
		cfg.CountMaxAge = DefaultCountMaxAge
	}
	if cfg.ExportLimit <= 0 {
		cfg.ExportLimit = DefaultExportLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExportWorkers <= 0 {
		cfg.ExportWorkers = min(runtime.GOMAXPROCS(0), 2)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, metrics: cfg.Metrics, exportWorkers: cfg.ExportWorkers,
		build: buildinfo.Read(), spec: newSpecDoc()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Token != "" {
		s.tokenSum = sha256.Sum256([]byte(cfg.Token))
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.attach(cfg.Store, cfg.Ingest)
	s.counts = newCountCache(s.ctx, cfg.CountMaxAge)
	s.stats = newStatsCache(s.ctx, cfg.StatsMaxAge, s.computeInterfaceStats, s.log)

	// Release mode: no debug banner or route dump on stderr.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// The API is reached directly (127.0.0.1 by default); no proxy's
	// X-Forwarded-For is trusted, so the logged client is the peer.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.Use(s.recovery(), s.requestLog())
	e.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, CodeNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
	})
	e.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})
	s.routes(e)
	s.engine = e

	s.srv = &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Export lifts this deadline for itself and moves it forward as it
		// writes; everything else answers well within it.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Server) routes(e *gin.Engine) {
	auth := s.requireToken()
	e.GET("/health", s.health(false))
	e.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	e.GET("/api/openapi.yaml", s.openAPI)

	api := e.Group("/api/ntp")
	h := api.Group("/history")
	h.GET("/clients", s.listClients)
	h.GET("/clients/:client_ip", s.clientDetail)
	h.POST("/search", s.search)
	h.POST("/export", auth, s.export)
	h.POST("/cleanup", auth, s.cleanup)
	h.GET("/interfaces/statistics", s.interfaceStatistics)
	h.GET("/service/statistics", s.serviceStatistics)
	h.GET("/health", s.health(true))

	i := api.Group("/interfaces")
	i.GET("", s.listInterfaces)
	i.POST("/:name/start", auth, s.startInterface)
	i.POST("/:name/stop", auth, s.stopInterface)
	i.GET("/:name/status", s.interfaceStatus)

	if s.cfg.Page != nil {
		e.Match([]string{http.MethodGet, http.MethodHead}, "/", gin.WrapH(s.cfg.Page))
		e.Match([]string{http.MethodGet, http.MethodHead}, "/ui/*file", gin.WrapH(s.cfg.Page))
	}
}

// Handler is the router, for tests and for serving on a listener of one's
// own.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists the registered routes as "METHOD /path" with Gin's :param
// syntax.
func (s *Server) Routes() []gin.RouteInfo { return s.engine.Routes() }

// ListenAndServe listens on Config.Addr and serves until Shutdown, which
// makes it return nil.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("httpapi: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("http api listening", "addr", ln.Addr().String(), "auth", s.cfg.Token != "")
	if s.cfg.Token == "" && !isLoopback(ln.Addr()) {
		s.log.Warn("http api listens beyond loopback without --api-token: cleanup, export and worker control are open to anyone who can connect", "addr", ln.Addr().String())
	}
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpapi: serve: %w", err)
	}
	return nil
}

// Listen binds addr for Run; binding before slow start-up work reports a
// port in use at once.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listener on %s: %w", addr, err)
	}
	return ln, nil
}

// Run serves on ln until ctx ends, then shuts down gracefully: requests in
// flight get shutdownGrace to finish (an export in progress is cut after
// that).
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := s.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.srv.Close()
	}
	return errors.Join(err, <-errc)
}

// shutdownGrace bounds the wait for requests in flight at shutdown.
const shutdownGrace = 10 * time.Second

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in flight (an export included) to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("httpapi: shutdown: %w", err)
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
