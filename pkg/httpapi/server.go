package httpapi

import (
	"context"
	"crypto/tls"
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
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
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
	// DefaultCountMaxAge is how long a list total is reused per filter.
	DefaultCountMaxAge = 5 * time.Second
	// DefaultStreamHeartbeat is the time between a live stream's
	// heartbeat comments: well under the minute after which proxies
	// commonly close an idle response.
	DefaultStreamHeartbeat = 15 * time.Second
)

// Config configures a Server. Store is required; Ingest and Supervisor may
// be nil (the endpoints that need them then answer 503).
type Config struct {
	Addr       string
	Store      *store.Store
	Ingest     Ingest
	Supervisor Supervisor
	// Token is the admin token: "Authorization: Bearer <token>" opens
	// the mutating endpoints and export, and every read. New refuses a
	// Config without one unless NoAuth says so.
	Token string
	// NoAuth leaves the mutating endpoints and export open to anyone who
	// can connect. It must be asked for: an empty Token alone is refused.
	NoAuth bool
	// ReadToken, when set, is needed (or Token) by every read endpoint;
	// reads are open otherwise. /health and /metrics stay open unless
	// ProtectMetrics.
	ReadToken string
	// ProtectMetrics puts /health and /metrics behind the read token, or
	// behind Token when there is no read token.
	ProtectMetrics bool
	// AllowedHosts are further names (or addresses) the API answers to,
	// "host" (any port) or "host:port", beside the address it listens on
	// and the loopback names: the name behind which a reverse proxy serves
	// it, or that remote clients use. Other Host headers get 421.
	AllowedHosts []string
	// CORSOrigin, when set, is the one other origin (scheme://host[:port])
	// whose pages may read the API from a browser: GET and HEAD, with
	// the Authorization header. No CORS answer is given otherwise.
	CORSOrigin string
	// TLS, when set, makes Serve speak HTTPS with it (TLS 1.2 at least,
	// whatever its MinVersion says) and every answer carry HSTS.
	TLS    *tls.Config
	Logger *slog.Logger
	// Metrics is the Prometheus exporter; New makes one when nil. Make it
	// first with NewMetrics to feed its batch histogram from ingestion.
	Metrics *Metrics
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
	// Stream, when set, is what GET /api/ntp/stream subscribes to: the
	// broadcaster the ingestion writer publishes committed batches to.
	// Without it the endpoint answers 503.
	Stream *stream.Broadcaster
	// StreamHeartbeat is the time between the heartbeat comments of a
	// live stream; default DefaultStreamHeartbeat.
	StreamHeartbeat time.Duration
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *gin.Engine
	handler http.Handler // engine under the security headers
	srv     *http.Server
	metrics *Metrics
	counts  *countCache
	// exportWorkers: see Config.ExportWorkers.
	exportWorkers int
	now           func() time.Time
	build         buildinfo.Info
	spec          specDoc
	tokens        tokens
	hosts         *hostGuard
	corsOrigin    string

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
	if cfg.CountMaxAge == 0 {
		cfg.CountMaxAge = DefaultCountMaxAge
	}
	if cfg.ExportLimit <= 0 {
		cfg.ExportLimit = DefaultExportLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = DefaultStreamHeartbeat
	}
	if cfg.ExportWorkers <= 0 {
		cfg.ExportWorkers = min(runtime.GOMAXPROCS(0), 2)
	}
	switch {
	case cfg.Token == "" && !cfg.NoAuth:
		return nil, errors.New("httpapi: no admin token: set Config.Token, or Config.NoAuth to leave the mutating endpoints open")
	case cfg.Token != "" && cfg.NoAuth:
		return nil, errors.New("httpapi: a token and NoAuth: choose one")
	case cfg.NoAuth && cfg.ReadToken != "":
		return nil, errors.New("httpapi: NoAuth with a read token would guard the reads and leave the writes open")
	case cfg.ProtectMetrics && cfg.NoAuth:
		return nil, errors.New("httpapi: ProtectMetrics without a token to protect them with")
	case cfg.ReadToken != "" && cfg.ReadToken == cfg.Token:
		return nil, errors.New("httpapi: the read token is the admin token: give it another value")
	}
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.MinVersion = max(cfg.TLS.MinVersion, tls.VersionTLS12)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, metrics: cfg.Metrics, exportWorkers: cfg.ExportWorkers,
		build: buildinfo.Read(), spec: newSpecDoc(), tokens: newTokens(cfg)}
	var err error
	if s.hosts, err = newHostGuard(cfg.Addr, cfg.AllowedHosts, cfg.TLS != nil); err != nil {
		return nil, err
	}
	if cfg.CORSOrigin != "" {
		if s.corsOrigin, err = parseOrigin(cfg.CORSOrigin); err != nil {
			return nil, err
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.attach(cfg.Store, cfg.Ingest, cfg.Stream)
	s.counts = newCountCache(s.ctx, cfg.CountMaxAge)

	// Release mode: no debug banner or route dump on stderr.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// The API is reached directly (127.0.0.1 by default); no proxy's
	// X-Forwarded-For is trusted, so the logged client is the peer.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	// In this order, after the security headers (securityHeaders wraps the
	// router): a request for another host is answered nothing else (421);
	// one from another origin that would change something is refused (403)
	// before its body or its token is looked at; a POST must be JSON (415).
	// The routes then check their tokens (auth.go).
	e.Use(s.recovery(), s.requestLog(), s.checkHost(), s.crossOrigin(), requireJSON())
	e.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, CodeNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
	})
	e.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})
	s.routes(e)
	s.engine = e
	s.handler = securityHeaders(e)

	s.srv = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.handler,
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
	admin, read, monitor := s.require(accessAdmin), s.require(accessRead), s.require(accessMonitor)
	e.GET("/health", monitor, s.health(false))
	e.GET("/metrics", monitor, gin.WrapH(s.metrics.Handler()))
	e.GET("/api/openapi.yaml", s.openAPI)

	api := e.Group("/api/ntp")
	h := api.Group("/history")
	h.GET("/clients", read, s.listClients)
	h.GET("/clients/:client_ip", read, s.clientDetail)
	h.POST("/search", read, s.search)
	h.POST("/export", admin, s.export)
	h.POST("/cleanup", admin, s.cleanup)
	h.GET("/interfaces/statistics", read, s.interfaceStatistics)
	h.GET("/service/statistics", read, s.serviceStatistics)
	h.GET("/timeseries", read, s.timeseries)
	h.GET("/health", read, s.health(true))

	api.GET("/stream", read, s.streamSessions)

	i := api.Group("/interfaces")
	i.GET("", read, s.listInterfaces)
	i.POST("/:name/start", admin, s.startInterface)
	i.POST("/:name/stop", admin, s.stopInterface)
	i.GET("/:name/status", read, s.interfaceStatus)

	// The page's files carry no data (it reads the API, with the token it
	// asks for), so they are open: a browser cannot send a bearer token
	// when it navigates.
	if s.cfg.Page != nil {
		e.Match([]string{http.MethodGet, http.MethodHead}, "/", gin.WrapH(s.cfg.Page))
		e.Match([]string{http.MethodGet, http.MethodHead}, "/ui/*file", gin.WrapH(s.cfg.Page))
	}
}

// Handler is the router, for tests and for serving on a listener of one's
// own.
func (s *Server) Handler() http.Handler { return s.handler }

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

// Serve serves on ln until Shutdown, over TLS when Config.TLS is set.
func (s *Server) Serve(ln net.Listener) error {
	s.hosts.addListen(ln.Addr().String())
	s.log.Info("http api listening", "addr", ln.Addr().String(), "tls", s.cfg.TLS != nil,
		"admin_token", s.tokens.hasAdmin, "read_token", s.tokens.hasRead)
	if s.cfg.NoAuth {
		level := slog.LevelWarn
		if !isLoopback(ln.Addr()) {
			level = slog.LevelError
		}
		s.log.Log(context.Background(), level, "http api without authentication: cleanup, export and worker start/stop are open to anyone who can connect",
			"addr", ln.Addr().String())
	}
	var err error
	if s.cfg.TLS != nil {
		s.srv.TLSConfig = s.cfg.TLS
		err = s.srv.ServeTLS(ln, "", "")
	} else {
		err = s.srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
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
