package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/api"
	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/scheduler"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// serveOptions are the daemon's settings, from flags.
type serveOptions struct {
	db, listen, mirror, trustPolicy string
	ecosystems                      []string
	osvURL, kevURL, epssURL         string
	noKEV, noEPSS                   bool
	feedInterval, rematchInt        time.Duration
	decisionRetention               time.Duration
	policy                          string // policy file for POST /api/v1/gate
	// The admission webhook, served over HTTPS on its own listener when
	// admissionListen is set (Kubernetes calls webhooks over TLS only).
	admissionListen, admissionCert, admissionKey, admissionSelfSigned, admissionConfig string
}

// checkServeFiles reads the policy, trust policy, webhook certificate and
// admission config (and checks its kubeconfig) before the store is opened: bad input exits 2
// and writes nothing.
func (e *env) checkServeFiles(o serveOptions) error {
	if o.policy != "" {
		if _, err := e.loadAdmissionPolicy(o.policy); err != nil {
			return err
		}
	}
	if o.trustPolicy != "" {
		if _, _, err := loadChecker(o.trustPolicy, nil, e.now); err != nil {
			return usageError{err}
		}
	}
	// The webhook's pair is loaded again when the webhook starts; here it
	// is only read, so a missing or broken one writes no store.
	if o.admissionCert != "" {
		if _, err := admission.LoadCertFiles(o.admissionCert, o.admissionKey, nil); err != nil {
			return usageError{err}
		}
	}
	// The webhook listens after the store is opened (serve starts it);
	// an address that cannot be one is refused now.
	if o.admissionListen != "" {
		if _, err := net.ResolveTCPAddr("tcp", o.admissionListen); err != nil {
			return usageError{fmt.Errorf("--admission-listen %s: %w", o.admissionListen, err)}
		}
	}
	if o.admissionSelfSigned != "" {
		if fi, err := os.Stat(o.admissionSelfSigned); err == nil && !fi.IsDir() {
			return usageError{fmt.Errorf("--admission-self-signed %s is not a directory", o.admissionSelfSigned)}
		}
	}
	if o.admissionConfig != "" {
		acfg, err := loadAdmissionConfig("--admission-config", o.admissionConfig)
		if err != nil {
			return err
		}
		if _, err := clusterClient(o.admissionConfig, acfg); err != nil {
			return err
		}
	}
	return nil
}

// defaultDecisionRetention keeps the decision log for 90 days: long enough
// to answer "what was admitted last quarter", bounded for a webhook that
// decides all day.
const defaultDecisionRetention = 90 * 24 * time.Hour

// checkAdmission validates the webhook (and decision-log) flags before
// anything is opened.
func (o serveOptions) checkAdmission() error {
	if o.decisionRetention < 0 {
		return usageError{fmt.Errorf("--decision-retention %s is negative (0 keeps every decision)", o.decisionRetention)}
	}
	if o.admissionListen == "" {
		if o.admissionCert != "" || o.admissionKey != "" || o.admissionSelfSigned != "" || o.admissionConfig != "" {
			return usageError{errors.New("--admission-cert, --admission-key, --admission-self-signed and --admission-config need --admission-listen")}
		}
		return nil
	}
	if o.policy == "" {
		return usageError{errors.New("--admission-listen needs --policy: the webhook decides with the policy gate")}
	}
	if (o.admissionSelfSigned != "") == (o.admissionCert != "" || o.admissionKey != "") || (o.admissionSelfSigned == "" && (o.admissionCert == "" || o.admissionKey == "")) {
		return usageError{errors.New("--admission-listen: give --admission-cert FILE and --admission-key FILE, or --admission-self-signed DIR")}
	}
	return nil
}

func (e *env) serveCommand() *cobra.Command {
	var o serveOptions
	var config string
	cmd := &cobra.Command{
		Use:   "serve --config FILE [--db FILE] [--listen ADDR] [--feed-mirror DIR | --ecosystem E...]",
		Short: "Run the scheduler (crawl, feed sync, re-match) and the HTTP API",
		Long: `serve crawls every registry of the config file on its interval (and at once when
the registry posts a push notification to /api/v1/notifications/registry),
syncs the feeds — online, or from a local mirror directory for air-gapped
sites — re-matching only what each feed delta touched, runs a full re-match
on a schedule (nightly by default), and serves the JSON API under /api/v1
with /healthz, /readyz and /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if config == "" {
				return usageError{errors.New("--config FILE is required (see 'safeguard registry add')")}
			}
			cfg, err := registry.LoadConfig(config)
			if err != nil {
				return err
			}
			for _, eco := range o.ecosystems {
				if !feed.KnownEcosystem(eco) {
					return usageError{fmt.Errorf("--ecosystem %q is not an OSV ecosystem", eco)}
				}
			}
			if err := o.checkAdmission(); err != nil {
				return err
			}
			if o.mirror != "" {
				if fi, err := os.Stat(o.mirror); err != nil || !fi.IsDir() {
					return usageError{fmt.Errorf("--feed-mirror %s is not a directory", o.mirror)}
				}
			}
			// Credentials named in the config must be there now, not fail
			// every crawl later.
			for _, rc := range cfg.Registries {
				for _, v := range []string{rc.Credentials.PasswordEnv, rc.Credentials.TokenEnv} {
					if v != "" && e.getenv(v) == "" {
						return fmt.Errorf("registry %q: environment variable %s (named in %s) is unset or empty", rc.Name, v, config)
					}
				}
			}
			if err := e.checkServeFiles(o); err != nil {
				return err
			}
			// Listen first: an address that cannot be served writes no store.
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", o.listen, err)
			}
			st, err := openStore(cmd.Context(), o.db)
			if err != nil {
				ln.Close()
				return err
			}
			defer st.Close()
			return e.serve(cmd.Context(), st, cfg, o, ln, nil)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "registries file (YAML)")
	e.serveFlags(cmd, &o)
	return cmd
}

func (e *env) serveFlags(cmd *cobra.Command, o *serveOptions) {
	cmd.Flags().StringVar(&o.db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	cmd.Flags().StringVar(&o.trustPolicy, "trust-policy", "", "trust policy file (YAML): verify image signatures against its signers")
	cmd.Flags().StringVar(&o.policy, "policy", "", "policy file (YAML): serve the gate at POST /api/v1/gate")
	cmd.Flags().StringVar(&o.mirror, "feed-mirror", "", "import feeds from this directory instead of downloading them (air-gapped)")
	cmd.Flags().StringArrayVar(&o.ecosystems, "ecosystem", nil, "OSV ecosystem to sync online (repeatable)")
	cmd.Flags().StringVar(&o.osvURL, "osv-url", "", "OSV export base URL")
	cmd.Flags().StringVar(&o.kevURL, "kev-url", "", "CISA KEV catalog URL")
	cmd.Flags().StringVar(&o.epssURL, "epss-url", "", "EPSS scores URL")
	cmd.Flags().BoolVar(&o.noKEV, "no-kev", false, "do not sync the KEV catalog online")
	cmd.Flags().BoolVar(&o.noEPSS, "no-epss", false, "do not sync EPSS scores online")
	cmd.Flags().DurationVar(&o.feedInterval, "feed-interval", 6*time.Hour, "time between feed syncs (0: only at start)")
	cmd.Flags().DurationVar(&o.rematchInt, "rematch-interval", 24*time.Hour, "time between full re-matches (0: never)")
	cmd.Flags().DurationVar(&o.decisionRetention, "decision-retention", defaultDecisionRetention, "how long decision-log rows are kept, pruned hourly (0: forever)")
	cmd.Flags().StringVar(&o.admissionListen, "admission-listen", "", "serve the Kubernetes admission webhooks over HTTPS on this address (needs --policy)")
	cmd.Flags().StringVar(&o.admissionCert, "admission-cert", "", "webhook TLS certificate file (PEM), reloaded on change")
	cmd.Flags().StringVar(&o.admissionKey, "admission-key", "", "webhook TLS key file (PEM), reloaded on change")
	cmd.Flags().StringVar(&o.admissionSelfSigned, "admission-self-signed", "", "development: create (once) and serve a self-signed webhook pair in DIR")
	cmd.Flags().StringVar(&o.admissionConfig, "admission-config", "", "admission config YAML (cluster, environments, environment_label, exempt, pin, failure_mode, budget, kubernetes)")
}

// startAdmission serves the webhooks on their own HTTPS listener with the
// policy gate, connected to the cluster when the admission config says so;
// the returned stop shuts the server and the connection down.
func (e *env) startAdmission(ctx context.Context, st *sqlite.Store, cfg *registry.Config, o serveOptions, log *slog.Logger, decisions gate.DecisionLog) (g *gate.Gate, stop func(), err error) {
	acfg, err := loadAdmissionConfig("--admission-config", o.admissionConfig)
	if err != nil {
		return nil, nil, err
	}
	eval, err := e.newAdmissionEvaluator(o.policy, cfg, false, acfg, st, decisions)
	if err != nil {
		return nil, nil, err
	}
	conn, err := e.connectCluster(ctx, o.admissionConfig, acfg, st, log)
	if err != nil {
		return nil, nil, err
	}
	disconnect := func() {
		if conn != nil {
			conn.Close()
		}
	}
	opts := admission.Options{Evaluator: eval, Config: acfg, Inventory: st, Logger: log, Now: e.now}
	if conn != nil {
		opts.Namespaces = conn.Namespaces
	}
	w, err := admission.New(opts)
	if err != nil {
		disconnect()
		return nil, nil, err
	}
	certFile, keyFile := o.admissionCert, o.admissionKey
	if o.admissionSelfSigned != "" {
		ca, c, k, err := admission.LoadOrCreateSelfSigned(o.admissionSelfSigned, "safeguard-webhook", "safeguard", e.now())
		if err != nil {
			disconnect()
			return nil, nil, fmt.Errorf("self-signed certificate in %s: %w", o.admissionSelfSigned, err)
		}
		certFile, keyFile = c, k
		log.Info("self-signed admission certificate", "dir", o.admissionSelfSigned, "caBundle", base64.StdEncoding.EncodeToString(append(ca, '\n')))
	}
	certs, err := admission.LoadCertFiles(certFile, keyFile, log)
	if err != nil {
		disconnect()
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", o.admissionListen)
	if err != nil {
		disconnect()
		return nil, nil, fmt.Errorf("listen %s: %w", o.admissionListen, err)
	}
	srv := admission.NewServer(w.Handler(), certs.TLSConfig())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admission webhook", "err", err)
		}
	}()
	log.Info("admission webhook listening", "addr", ln.Addr().String())
	return eval, func() {
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		<-done
		disconnect()
	}, nil
}

// serve runs the daemon on ln until ctx ends. ready, when not nil, is
// closed once the API is listening.
func (e *env) serve(ctx context.Context, st *sqlite.Store, cfg *registry.Config, o serveOptions, ln net.Listener, ready chan<- struct{}) error {
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Finish a re-match a previous run left pending (killed after an import).
	if sum, err := e.rematchPending(ctx, st); err != nil {
		return err
	} else if sum.Packages > 0 {
		log.Info("finished a pending re-match", "packages", sum.Packages, "opened", sum.Changes.Opened, "resolved", sum.Changes.Resolved)
	}
	crawler := &registry.Crawler{Inventory: st, SBOMs: registrySBOMs{st: st, now: e.now}, Logger: log, Now: e.now, Getenv: e.getenv, Notifier: &registry.Notifier{Logger: log}}
	checker, _, err := loadChecker(o.trustPolicy, st, e.now)
	if err != nil {
		return err
	}
	// Statuses are cached per policy hash: a changed policy or trusted root
	// re-verifies every digest, offline, before serving.
	verifyNew := func(ctx context.Context) error {
		if checker == nil {
			return nil
		}
		n, err := checker.RefreshMissing(ctx)
		if n > 0 {
			log.Info("verified signatures", "digests", n)
		}
		return err
	}
	if err := verifyNew(ctx); err != nil {
		log.Error("signature verification", "err", err)
	}
	// API decisions are in the log when the call returns; the webhook's,
	// thousands a second under load, are written in batches.
	apiGate, err := e.serveGate(st, cfg, o.policy, st)
	if err != nil {
		return err
	}
	var gateAPI api.Gate // a nil *gate.Gate must stay a nil interface
	gates := []*gate.Gate{}
	if apiGate != nil {
		gateAPI = apiGate
		gates = append(gates, apiGate)
	}
	// What this process writes (crawls, feed imports, verdicts) reaches the
	// gates' next decisions at once, not after their facts TTL.
	invalidate := func() {
		for _, g := range gates {
			g.Invalidate()
		}
	}
	if o.admissionListen != "" {
		decisions := gate.NewBatchLog(st, log)
		defer decisions.Close()
		g, stop, err := e.startAdmission(ctx, st, cfg, o, log, decisions)
		if err != nil {
			return err
		}
		defer stop()
		gates = append(gates, g)
	}
	var jobs []scheduler.Job
	for _, rc := range cfg.Registries {
		rc := rc
		jobs = append(jobs, scheduler.Job{Name: "crawl:" + rc.Name, Interval: rc.CrawlInterval(), Run: func(ctx context.Context, repo string) error {
			var err error
			if repo != "" {
				var sum registry.RepoSummary
				sum, err = crawler.CrawlRepository(ctx, rc, repo)
				log.Info("crawled repository", "registry", rc.Name, "repository", repo, "new_images", sum.NewImages, "moved_tags", sum.MovedTags)
			} else {
				var sum registry.Summary
				sum, err = crawler.CrawlRegistry(ctx, rc)
				log.Info("crawled registry", "registry", rc.Name, "repositories", sum.Repositories, "tags", sum.TagsSeen,
					"unchanged", sum.TagsUnchanged, "new_images", sum.NewImages, "moved_tags", sum.MovedTags, "sboms", sum.SBOMs, "requests", sum.Requests)
				if err == nil && len(sum.Errors) > 0 {
					err = fmt.Errorf("%d repositories failed: %v", len(sum.Errors), sum.Errors)
				}
			}
			if _, kerr := st.RecordNewKEVEvents(ctx, e.now()); kerr != nil {
				err = errors.Join(err, kerr)
			}
			if bsum, berr := baseimage.Refresh(ctx, st, cfg.IsBase, e.now()); berr != nil {
				err = errors.Join(err, berr)
			} else if bsum.New+bsum.Changed > 0 {
				log.Info("attributed base images", "images", bsum.Images, "catalogue", bsum.Catalogue, "new", bsum.New, "changed", bsum.Changed)
			}
			err = errors.Join(err, verifyNew(ctx))
			invalidate()
			return err
		}})
	}
	var m *mirror
	if o.mirror != "" {
		m = newMirror(o.mirror)
	}
	syncer := &feed.Syncer{OSVBaseURL: o.osvURL, KEVURL: o.kevURL, EPSSURL: o.epssURL}
	wantFeeds := m != nil || len(o.ecosystems) > 0 || !o.noKEV || !o.noEPSS
	// Ready means a feed import has succeeded: an empty vulnerability
	// database would make every image look clean.
	var feedsOK atomic.Bool
	if wantFeeds {
		jobs = append(jobs, scheduler.Job{Name: "feeds", Interval: nonZero(o.feedInterval), Run: func(ctx context.Context, _ string) error {
			err := e.syncFeeds(ctx, st, m, syncer, o.ecosystems, !o.noKEV, !o.noEPSS)
			if err == nil {
				feedsOK.Store(true)
			}
			invalidate()
			return err
		}})
	} else {
		feedsOK.Store(true)
	}
	if o.rematchInt > 0 {
		started := false
		jobs = append(jobs, scheduler.Job{Name: "rematch", Interval: o.rematchInt, Run: func(ctx context.Context, _ string) error {
			if !started {
				// Skip the run at start-up: arrival and feed deltas already
				// matched everything.
				started = true
				return nil
			}
			defer invalidate()
			return e.rematchAll(ctx, st)
		}})
	}
	if o.decisionRetention > 0 {
		jobs = append(jobs, scheduler.Job{Name: "decision-retention", Interval: time.Hour, Run: func(ctx context.Context, _ string) error {
			n, err := st.PruneDecisions(ctx, e.now().Add(-o.decisionRetention))
			if err == nil && n > 0 {
				log.Info("decision log pruned", "rows", n, "older_than", o.decisionRetention.String())
			}
			return err
		}})
	}
	sched := scheduler.New(log, e.now, jobs...)
	trigger := func(repository string) {
		rc, path, ok := cfg.Match(repository)
		if !ok {
			log.Warn("push notification for an untracked repository", "repository", repository)
			return
		}
		sched.Trigger("crawl:"+rc.Name, path)
	}
	srv := api.New(api.Options{
		Store: st, Logger: log, Now: e.now, Signatures: signatureLookup(checker), Gate: gateAPI, Decisions: st,
		Registries: func() []api.RegistryInfo { return registryInfos(cfg) },
		Ready: func() error {
			if !feedsOK.Load() {
				return errors.New("no feed import has succeeded yet")
			}
			c, err := st.Counts(context.Background())
			if err != nil {
				return err
			}
			if c.Advisories == 0 {
				return errors.New("no advisories loaded")
			}
			return nil
		},
		Extra: map[string]http.Handler{"POST /api/v1/notifications/registry": registry.NotificationHandler(trigger)},
	})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	schedDone := make(chan struct{})
	go func() { sched.Run(ctx); close(schedDone) }()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "registries", len(cfg.Registries))
	if ready != nil {
		close(ready)
	}
	err = nil
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	shut, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = hs.Shutdown(shut)
	<-schedDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// nonZero maps "0: only at start" to a scheduler job that runs once.
func nonZero(d time.Duration) time.Duration {
	if d <= 0 {
		return 100 * 365 * 24 * time.Hour
	}
	return d
}

func registryInfos(cfg *registry.Config) []api.RegistryInfo {
	out := make([]api.RegistryInfo, 0, len(cfg.Registries))
	for _, r := range cfg.Registries {
		out = append(out, api.RegistryInfo{Name: r.Name, Host: r.Host, Repositories: r.Repositories, Catalog: r.Catalog != nil, Interval: r.CrawlInterval()})
	}
	return out
}

// signatureLookup gives the API an image's cached signature status.
func signatureLookup(c *sigstatus.Checker) func(ctx context.Context, digest, index string) (any, error) {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, digest, index string) (any, error) {
		return c.Status(ctx, digest, index)
	}
}
