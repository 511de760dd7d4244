package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/admission/cluster"
	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// newAdmissionEvaluator builds the policy gate the webhook asks: the same
// gate as `safeguard gate` and POST /api/v1/gate, so a digest gets the same
// verdict everywhere. Its time budget and failure mode are the admission
// config's, so an image the gate cannot finish in time is decided by the
// configured mode with the reason the gate saw.
func (e *env) newAdmissionEvaluator(policyFile string, rcfg *registry.Config, insecure bool, cfg admission.Config, st *sqlite.Store, log gate.DecisionLog) (*gate.Gate, error) {
	pol, err := e.loadAdmissionPolicy(policyFile)
	if err != nil {
		return nil, err
	}
	return e.admissionGate(pol, rcfg, insecure, cfg, st, log)
}

func (e *env) loadAdmissionPolicy(policyFile string) (*policy.Policy, error) {
	pol, err := policy.Load(e.policyPath(policyFile))
	if err != nil {
		return nil, usageError{err}
	}
	return pol, nil
}

func (e *env) admissionGate(pol *policy.Policy, rcfg *registry.Config, insecure bool, cfg admission.Config, st *sqlite.Store, log gate.DecisionLog) (*gate.Gate, error) {
	f := gateFlags{budget: cfg.Budget, insecure: insecure, failOpen: cfg.FailureMode == admission.FailOpen, factsTTL: longRunningFactsTTL}
	if f.budget == 0 {
		f.budget = admission.DefaultBudget
	}
	return e.newGate(st, pol, rcfg, f, "admission", log)
}

// admissionSetup is what serve and review share: config, store, gate.
type admissionSetup struct {
	config, policy, db, registries string
	insecure                       bool
}

func (s *admissionSetup) flags(cmd *cobra.Command, e *env) {
	cmd.Flags().StringVar(&s.config, "config", "", "admission config YAML (cluster, environments, environment_label, exempt, pin, failure_mode, budget, kubernetes)")
	cmd.Flags().StringVar(&s.policy, "policy", "", "policy file for the gate")
	cmd.Flags().StringVar(&s.db, "db", e.defaultDB(), "store file (facts per digest; deployment inventory)")
	cmd.Flags().StringVar(&s.registries, "registries", "", "registries file (YAML, as for 'registry crawl') with credentials per host")
	cmd.Flags().BoolVar(&s.insecure, "insecure", false, "talk plain HTTP to registries not in --registries (loopback test registries)")
}

func (s *admissionSetup) loadConfig() (admission.Config, error) {
	return loadAdmissionConfig("--config", s.config)
}

// loadAdmissionConfig reads the admission config file named by flag; no
// file is the zero config (defaults). A relative kubeconfig path is
// relative to the file, as a policy's trust_policy is to the policy.
func loadAdmissionConfig(flag, path string) (admission.Config, error) {
	if path == "" {
		return admission.Config{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return admission.Config{}, usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	cfg, err := admission.ParseConfig(data)
	if err != nil {
		return admission.Config{}, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	if k := cfg.Kubernetes; k != nil && k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) {
		k.Kubeconfig = filepath.Join(filepath.Dir(path), k.Kubeconfig)
	}
	return cfg, nil
}

// connectCluster starts what the config's kubernetes block asks for
// (namespace labels, reconciliation of st); nil without the block, and
// then nothing calls the API server. path names the config in errors.
func (e *env) connectCluster(ctx context.Context, path string, cfg admission.Config, st *sqlite.Store, log *slog.Logger) (*cluster.Connection, error) {
	client, err := clusterClient(path, cfg)
	if err != nil {
		return nil, err
	}
	return e.startCluster(ctx, path, client, cfg, st, log)
}

// clusterClient builds the client the kubernetes block names (nil without
// one), checking its kubeconfig without calling the API server.
func clusterClient(path string, cfg admission.Config) (kubernetes.Interface, error) {
	if cfg.Kubernetes == nil {
		return nil, nil
	}
	client, err := cluster.NewClient(cfg.Kubernetes)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return client, nil
}

func (e *env) startCluster(ctx context.Context, path string, client kubernetes.Interface, cfg admission.Config, st *sqlite.Store, log *slog.Logger) (*cluster.Connection, error) {
	if client == nil {
		return nil, nil
	}
	conn, err := cluster.Start(ctx, client, cfg, st, log, e.now)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to the cluster: %w", path, err)
	}
	return conn, nil
}

// webhook opens the store and builds the webhook; close releases the store.
// connect (serve, not review) starts the config's cluster connection.
// Every file the flags name is read, and the kubeconfig checked, before
// the store is opened: bad input writes nothing.
func (s *admissionSetup) webhook(ctx context.Context, e *env, log *slog.Logger, connect bool) (w *admission.Webhook, closeFn func(), err error) {
	cfg, err := s.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	pol, err := e.loadAdmissionPolicy(s.policy)
	if err != nil {
		return nil, nil, err
	}
	var rcfg *registry.Config
	if s.registries != "" {
		if rcfg, err = registry.LoadConfig(s.registries); err != nil {
			return nil, nil, usageError{err}
		}
	}
	var client kubernetes.Interface
	if connect {
		if client, err = clusterClient(s.config, cfg); err != nil {
			return nil, nil, err
		}
	}
	st, err := openStore(ctx, s.db)
	if err != nil {
		return nil, nil, err
	}
	decisions := gate.NewBatchLog(st, log)
	var conn *cluster.Connection
	closeAll := func() {
		if conn != nil {
			conn.Close() // before the store it reconciles
		}
		decisions.Close()
		st.Close()
	}
	eval, err := e.admissionGate(pol, rcfg, s.insecure, cfg, st, decisions)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	opts := admission.Options{Evaluator: eval, Config: cfg, Inventory: st, Logger: log, Now: e.now}
	if conn, err = e.startCluster(ctx, s.config, client, cfg, st, log); err != nil {
		closeAll()
		return nil, nil, err
	}
	if conn != nil {
		opts.Namespaces = conn.Namespaces
	}
	w, err = admission.New(opts)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return w, closeAll, nil
}

func (e *env) admissionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Kubernetes admission webhook: serve, review a saved AdmissionReview, print install manifests",
	}
	cmd.AddCommand(e.admissionServeCommand(), e.admissionReviewCommand(), e.admissionManifestsCommand())
	return cmd
}

func (e *env) admissionServeCommand() *cobra.Command {
	var s admissionSetup
	var listen, certFile, keyFile, selfSigned, service, namespace string
	cmd := &cobra.Command{
		Use:   "serve (--cert FILE --key FILE | --self-signed DIR) [--listen ADDR] [--config FILE] [--policy FILE] [--db FILE]",
		Short: "Serve the validating and mutating webhooks over HTTPS (webhook-only deployment)",
		Long: `serve answers AdmissionReviews on ` + admission.PathValidate + ` and ` + admission.PathMutate + `
over HTTPS. The certificate and key files are re-read when they change
(cert-manager rotates them in place). --self-signed DIR creates a development
CA and serving certificate in DIR when it holds none, and prints the caBundle
to put in the webhook configurations (or pass to 'admission manifests
--ca-bundle DIR/ca.crt').

With a kubernetes block in --config ({in_cluster: true} or {kubeconfig:
FILE}), serve watches namespace labels (environment_label, the policy's
context.labels) and reconciles the deployment inventory against the
workloads that exist (scaled to zero too) and the Pods that run, every
reconcile_interval (default 10m, 0: never).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (selfSigned != "") == (certFile != "" || keyFile != "") || (selfSigned == "" && (certFile == "" || keyFile == "")) {
				return usageError{errors.New("give --cert FILE and --key FILE, or --self-signed DIR")}
			}
			ctx := cmd.Context()
			log := slog.New(slog.NewJSONHandler(e.stderr, nil))
			var certs *admission.CertFiles
			if selfSigned == "" {
				// Read before the store is opened: a wrong path writes nothing.
				var err error
				if certs, err = admission.LoadCertFiles(certFile, keyFile, log); err != nil {
					return usageError{err}
				}
			}
			w, closeStore, err := s.webhook(ctx, e, log, true)
			if err != nil {
				return err
			}
			defer closeStore()
			if selfSigned != "" {
				ca, c, k, err := admission.LoadOrCreateSelfSigned(selfSigned, service, namespace, e.now())
				if err != nil {
					return fmt.Errorf("self-signed certificate in %s: %w", selfSigned, err)
				}
				fmt.Fprintf(e.stdout, "caBundle: %s\n", base64.StdEncoding.EncodeToString(append(ca, '\n')))
				if certs, err = admission.LoadCertFiles(c, k, log); err != nil {
					return err
				}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			srv := admission.NewServer(w.Handler(), certs.TLSConfig())
			done := make(chan error, 1)
			go func() { done <- srv.ServeTLS(ln, "", "") }()
			log.Info("admission webhook listening", "addr", ln.Addr().String())
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
				shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(shut); err != nil {
					return err
				}
				if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}
		},
	}
	s.flags(cmd, e)
	cmd.Flags().StringVar(&listen, "listen", ":8443", "address to serve HTTPS on")
	cmd.Flags().StringVar(&certFile, "cert", "", "TLS certificate file (PEM), reloaded on change")
	cmd.Flags().StringVar(&keyFile, "key", "", "TLS key file (PEM), reloaded on change")
	cmd.Flags().StringVar(&selfSigned, "self-signed", "", "development: create (once) and serve a self-signed pair in DIR")
	cmd.Flags().StringVar(&service, "service", "safeguard-webhook", "Service name the self-signed certificate is issued for")
	cmd.Flags().StringVar(&namespace, "namespace", "safeguard", "namespace of that Service")
	return cmd
}

func (e *env) admissionReviewCommand() *cobra.Command {
	var s admissionSetup
	var mutate bool
	cmd := &cobra.Command{
		Use:   "review FILE [--mutate] [--config FILE] [--policy FILE] [--db FILE]",
		Short: "Answer a saved AdmissionReview and print the response (exit 1 when denied)",
		Long: `review answers an AdmissionReview read from FILE ('-' for stdin) exactly as the
webhook would, and prints the AdmissionReview response JSON. It exits 1 when
the request is denied, so CI can check cluster manifests; --mutate prints the
mutating webhook's answer with its digest-pinning patch. review never calls
the API server: the config's kubernetes block is ignored, and environments
come from its namespace globs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var body []byte
			var err error
			if name == "-" {
				body, err = readAllLimited(cmd.InOrStdin(), admission.DefaultMaxBodyBytes)
			} else {
				body, err = os.ReadFile(name)
			}
			if err != nil {
				return usageError{fmt.Errorf("read %s: %w", name, err)}
			}
			if err := admission.CheckReview(body); err != nil {
				return usageError{fmt.Errorf("%s: %w", name, err)}
			}
			w, closeStore, err := s.webhook(cmd.Context(), e, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), false)
			if err != nil {
				return err
			}
			defer closeStore()
			out, err := w.Review(cmd.Context(), body, mutate)
			if err != nil {
				return usageError{fmt.Errorf("%s: %w", name, err)}
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			fmt.Fprintf(e.stdout, "%s\n", b)
			if !out.Response.Allowed {
				return errCheckFailed
			}
			return nil
		},
	}
	s.flags(cmd, e)
	cmd.Flags().BoolVar(&mutate, "mutate", false, "answer as the mutating webhook (digest-pinning patch)")
	return cmd
}

func (e *env) admissionManifestsCommand() *cobra.Command {
	var o admission.ManifestOptions
	var caFile string
	cmd := &cobra.Command{
		Use:   "manifests (--cert-manager | --ca-bundle FILE) [--namespace NS] [--image IMAGE] [--no-cluster-access]",
		Short: "Print the Kubernetes objects that install the webhook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if caFile != "" {
				ca, err := os.ReadFile(caFile)
				if err != nil {
					return usageError{fmt.Errorf("--ca-bundle: %w", err)}
				}
				if !looksLikePEMCert(ca) {
					return usageError{fmt.Errorf("--ca-bundle %s: not a PEM certificate", caFile)}
				}
				o.CABundle = ca
			}
			b, err := admission.Manifests(o)
			if err != nil {
				return usageError{err}
			}
			_, err = e.stdout.Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&o.Namespace, "namespace", "safeguard", "namespace to install into (excluded from admission)")
	cmd.Flags().StringVar(&o.Image, "image", admission.DefaultImage, "safeguard container image")
	cmd.Flags().BoolVar(&o.CertManager, "cert-manager", false, "let cert-manager issue the certificate and inject the CA bundle")
	cmd.Flags().StringVar(&caFile, "ca-bundle", "", "PEM CA that signed the serving certificate in Secret safeguard-webhook-tls")
	cmd.Flags().StringVar(&o.FailurePolicy, "failure-policy", "Fail", "Fail or Ignore when the webhook cannot be reached")
	cmd.Flags().Int32Var(&o.TimeoutSeconds, "timeout", 10, "timeoutSeconds of the webhook configurations (3-30: the webhook needs time to answer within it)")
	cmd.Flags().BoolVar(&o.NoClusterAccess, "no-cluster-access", false, "no ClusterRole or service account token: environments from namespace globs only, no inventory reconciliation")
	return cmd
}
