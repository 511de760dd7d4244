package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// SBOMReader reads SBOMs, their packages and findings, and the feeds.
type SBOMReader interface {
	SBOMs(ctx context.Context) ([]store.SBOM, error)
	SBOM(ctx context.Context, id int64) (store.SBOM, error)
	Packages(ctx context.Context, sbomID int64) ([]sbom.Package, error)
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	Trajectory(ctx context.Context, sbomID int64) ([]store.TrajectoryPoint, error)
	Counts(ctx context.Context) (store.Counts, error)
	FeedImports(ctx context.Context) ([]sqlite.FeedImport, error)
}

// InventoryReader reads the registry inventory: repositories, images, tag
// history, referrers and events.
type InventoryReader interface {
	Repositories(ctx context.Context) ([]string, error)
	Images(ctx context.Context, repository string) ([]store.Image, error)
	Image(ctx context.Context, digest string) (store.Image, error)
	Tags(ctx context.Context, digest string) ([]string, error)
	TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error)
	Referrers(ctx context.Context, subject string) ([]store.Referrer, error)
	Events(ctx context.Context, f sqlite.EventFilter) ([]store.Event, error)
	ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error)
}

// Reader is everything the API reads. It never writes.
type Reader interface {
	SBOMReader
	InventoryReader
	BaseReader
	DeploymentReader
}

// RegistryInfo describes one configured registry, as the configuration
// says; the API only reports it.
type RegistryInfo struct {
	Name         string        // name in the configuration
	Host         string        // registry host, with port if any
	Repositories []string      // repositories tracked explicitly
	Catalog      bool          // the whole _catalog is crawled
	Interval     time.Duration // time between crawls
}

// DefaultMaxBodyBytes is the request body limit when Options.MaxBodyBytes
// is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// Options configure a Server.
type Options struct {
	// Store is read by every /api/v1 endpoint. Required.
	Store Reader
	// Logger receives request logs and internal errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock, used to time requests. Default: time.Now.
	Now func() time.Time
	// Registries returns the configured registries for /api/v1/registries.
	// Default (nil): none.
	Registries func() []RegistryInfo
	// Ready reports readiness for /readyz: nil when the store is reachable
	// and the first feed import is done, else the reason. Default (nil):
	// ready when the store answers Counts.
	Ready func() error
	// Extra routes are mounted beside the built-in ones (pattern →
	// handler, e.g. "POST /api/v1/notifications/registry") and go through
	// the same middleware. They are not described in openapi.json. A
	// pattern that is invalid or conflicts with a built-in route makes New
	// panic, as http.ServeMux.Handle does.
	Extra map[string]http.Handler
	// MaxBodyBytes caps request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Signatures returns an image's signature status (any JSON value);
	// nil when no trust policy is configured (the field is then null).
	Signatures func(ctx context.Context, digest, indexDigest string) (any, error)
	// Gate answers POST /api/v1/gate; nil: 503 (no policy configured).
	Gate Gate
	// Decisions reads the decision log for GET /api/v1/decisions; nil: 503.
	Decisions DecisionLog
}

// Server serves the API. Build it with New.
type Server struct {
	store      Reader
	log        *slog.Logger
	now        func() time.Time
	registries func() []RegistryInfo
	ready      func() error
	signatures func(ctx context.Context, digest, indexDigest string) (any, error)
	gate       Gate
	decisions  DecisionLog
	maxBody    int64
	mux        *http.ServeMux
	routes     []route
	patterns   map[string]bool // every registered pattern, built-in and extra
	metrics    *metrics
	handler    http.Handler
}

// route is one built-in endpoint. The table is the single source of the
// router, of the accepted query parameters and of the OpenAPI check.
type route struct {
	method string
	path   string // ServeMux pattern path
	// doc is the OpenAPI path when it differs from path (the
	// {repository...} wildcard is documented as /{repository}/tags).
	doc string
	// query lists the accepted query parameters; any other is a 400.
	query []string
	h     handlerFunc
}

func (r route) pattern() string { return r.method + " " + r.path }

// docPath is the route's path in openapi.json.
func (r route) docPath() string {
	if r.doc != "" {
		return r.doc
	}
	return r.path
}

// New builds a Server. Options.Store is required.
func New(opts Options) *Server {
	if opts.Store == nil {
		panic("api.New: Options.Store is nil")
	}
	s := &Server{
		store:      opts.Store,
		log:        opts.Logger,
		now:        opts.Now,
		registries: opts.Registries,
		ready:      opts.Ready,
		signatures: opts.Signatures,
		gate:       opts.Gate,
		decisions:  opts.Decisions,
		maxBody:    opts.MaxBodyBytes,
		mux:        http.NewServeMux(),
		patterns:   map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.metrics = newMetrics()
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern(), s.adapt(rt))
		s.patterns[rt.pattern()] = true
	}
	extra := make([]string, 0, len(opts.Extra))
	for p := range opts.Extra {
		extra = append(extra, p)
	}
	sort.Strings(extra)
	for _, p := range extra {
		s.mux.Handle(p, opts.Extra[p])
		s.patterns[p] = true
	}
	s.handler = s.observe(s.recoverPanics(s.limitBody(http.HandlerFunc(s.dispatch))))
	return s
}

// Handler returns the http.Handler serving every route.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routeTable() []route {
	findingParams := []string{"kev", "severity", "package", "include_resolved"}
	return []route{
		{method: "GET", path: "/healthz", h: s.healthz},
		{method: "GET", path: "/readyz", h: s.readyz},
		{method: "GET", path: "/metrics", h: s.serveMetrics},
		{method: "GET", path: "/api/v1/openapi.json", h: s.openAPI},
		{method: "GET", path: "/api/v1/registries", h: s.listRegistries},
		{method: "GET", path: "/api/v1/repositories", h: s.listRepositories},
		{method: "GET", path: "/api/v1/repositories/{repository...}", doc: "/api/v1/repositories/{repository}/tags", query: []string{"tag"}, h: s.repositoryTags},
		{method: "GET", path: "/api/v1/images", query: []string{"repository", "base"}, h: s.listImages},
		{method: "GET", path: "/api/v1/images/{digest}", h: s.getImage},
		{method: "GET", path: "/api/v1/images/{digest}/findings", query: findingParams, h: s.imageFindings},
		{method: "GET", path: "/api/v1/images/{digest}/packages", h: s.imagePackages},
		{method: "GET", path: "/api/v1/images/{digest}/trajectory", h: s.imageTrajectory},
		{method: "GET", path: "/api/v1/findings", query: append([]string{"sbom"}, findingParams...), h: s.listFindings},
		{method: "GET", path: "/api/v1/events", query: []string{"kind", "since", "limit"}, h: s.listEvents},
		{method: "GET", path: "/api/v1/deployments", query: deploymentParams, h: s.listDeployments},
		{method: "GET", path: "/api/v1/feeds", h: s.feeds},
		{method: "GET", path: "/api/v1/sboms", h: s.listSBOMs},
		{method: "GET", path: "/api/v1/sboms/{id}", h: s.getSBOM},
		{method: "GET", path: "/api/v1/sboms/{id}/findings", query: findingParams, h: s.sbomFindings},
		{method: "GET", path: "/api/v1/sboms/{id}/trajectory", h: s.sbomTrajectory},
		{method: "POST", path: "/api/v1/gate", h: s.postGate},
		{method: "GET", path: "/api/v1/decisions", query: []string{"digest", "reference", "verdict", "environment", "namespace", "since", "limit"}, h: s.listDecisions},
	}
}

// dispatch routes a request. A request no pattern matches (404, 405, or a
// path-cleaning redirect) is answered here so that errors stay JSON.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if s.patterns[pattern] {
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status < 400 {
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		return
	}
	e := &Error{Status: rec.status, Message: "no route for " + r.Method + " " + r.URL.Path}
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
		e.Message = "method " + r.Method + " not allowed on " + r.URL.Path + "; allowed: " + strings.ReplaceAll(allow, ",", ", ")
	}
	s.writeError(w, r, e)
}

// headerRecorder captures the headers and status of the mux's own
// not-found, method-not-allowed and redirect answers, dropping their
// plain-text bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}
