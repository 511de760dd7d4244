package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// errDenied marks a gate run in which an image was denied.
var errDenied = fmt.Errorf("%w: denied by policy", errCheckFailed)

type gateFlags struct {
	policy, env, namespace, cluster, format, db, config string
	feeds                                               []string
	insecure, failOpen                                  bool
	budget                                              time.Duration
	factsTTL                                            time.Duration // 0: read the store for every decision
}

// longRunningFactsTTL is how long serve's and the webhook's gates reuse the
// facts of a digest: a request for known digests is then a lookup plus the
// policy evaluation, and what another process writes to the store shows
// within this time (in-process writers invalidate at once).
const longRunningFactsTTL = 2 * time.Second

func (e *env) gateCommand() *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate [--policy FILE] [--env E] [--format text|json|sarif|junit] IMAGE...",
		Short: "Decide whether images may be deployed, under a policy (for CI)",
		Long: `gate resolves each IMAGE to the digest it names now, gathers what the store knows
about that digest (findings, signature status, base image, provenance), and for an
image never seen before fetches it on the spot — manifest, attached SBOMs (matched
against the feeds), signatures — within --budget. The policy decides; every decision
lists each violated rule in a sentence, the digest evaluated and the policy hash.

Without --db the store is a temporary one, filled with --feed files; with --db,
decisions are also written to its decision log.

Exit status: 0 every image allowed (warnings are printed), 1 an image denied
(or facts could not be gathered, fail-closed), 2 bad input or an error. When
GITHUB_ACTIONS=true, violations are also written as ::error / ::warning
workflow commands.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runGate(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", "", "policy file (YAML); default $SAFEGUARD_POLICY, else safeguard-policy.yaml")
	fl.StringVar(&f.env, "env", "", "deployment environment (production, staging, …) the rules are scoped by")
	fl.StringVar(&f.namespace, "namespace", "", "Kubernetes namespace the rules are scoped by")
	fl.StringVar(&f.cluster, "cluster", "", "cluster name, recorded with the decision")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif or junit")
	fl.StringVar(&f.db, "db", "", "store file (SQLite) with feeds and inventory; decisions are logged there. Default: a temporary store")
	fl.StringArrayVar(&f.feeds, "feed", nil, "feed file to import first (OSV, KEV, EPSS; repeatable)")
	fl.StringVar(&f.config, "config", "", "registries file (YAML) for credentials per host")
	fl.BoolVar(&f.insecure, "insecure", false, "talk plain HTTP to registries not in --config (loopback test registries)")
	fl.BoolVar(&f.failOpen, "fail-open", false, "allow (with a warning) when facts cannot be gathered; default: deny")
	fl.DurationVar(&f.budget, "budget", gate.DefaultBudget, "time budget per image, resolution and on-the-spot fetch included")
	return cmd
}

func (e *env) policyPath(flag string) string {
	if flag != "" {
		return flag
	}
	if p := e.getenv("SAFEGUARD_POLICY"); p != "" {
		return p
	}
	return "safeguard-policy.yaml"
}

func (e *env) runGate(ctx context.Context, f gateFlags, images []string) error {
	render, ok := gateRenderers[f.format]
	if !ok {
		return usageError{fmt.Errorf("unknown --format %q: want text, json, sarif or junit", f.format)}
	}
	if f.budget <= 0 {
		return usageError{fmt.Errorf("--budget %v: want a positive duration such as 2s", f.budget)}
	}
	if len(images) > gate.MaxImages {
		return usageError{fmt.Errorf("%d images: at most %d per run", len(images), gate.MaxImages)}
	}
	pol, err := policy.Load(e.policyPath(f.policy))
	if err != nil {
		return usageError{err}
	}
	batches, err := loadFeeds(f.feeds)
	if err != nil {
		return usageError{err}
	}
	var cfg *registry.Config
	if f.config != "" {
		if cfg, err = registry.LoadConfig(f.config); err != nil {
			return usageError{err}
		}
	}
	db := f.db
	if db != "" && pol.UsesFindings() && len(batches) == 0 {
		// A mistyped --db would otherwise become a new, empty store (and
		// its directories) left behind by the refusal below.
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			return usageError{fmt.Errorf("--db %s: no such store; the policy has vulnerability rules, so the store must hold imported feeds (safeguard feed import --db %s PATH...)", db, db)}
		}
	}
	if db == "" {
		dir, err := os.MkdirTemp("", "safeguard-gate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "gate.db")
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	for i, b := range batches {
		if _, err := e.applyFeed(ctx, st, b, f.feeds[i], false); err != nil {
			return err
		}
	}
	if pol.UsesFindings() {
		c, err := st.Counts(ctx)
		if err != nil {
			return err
		}
		if c.Advisories == 0 {
			return usageError{errors.New("the policy has vulnerability rules but the store holds no advisories: pass --feed files or a --db with imported feeds (an empty database would make every image look clean)")}
		}
	}
	var log gate.DecisionLog
	if f.db != "" {
		log = st
	}
	g, err := e.newGate(st, pol, cfg, f, "cli", log)
	if err != nil {
		return err
	}
	rep := g.EvaluateAll(ctx, gate.Request{Images: images, Input: gate.Input{Environment: f.env, Namespace: f.namespace, Cluster: f.cluster}})
	if e.getenv("GITHUB_ACTIONS") == "true" {
		w := e.stdout
		if f.format != "text" {
			w = e.stderr // keep machine output parseable
		}
		annotate(w, rep)
	}
	if err := render(e.stdout, rep); err != nil {
		return err
	}
	if rep.Verdict == gate.Deny {
		return errDenied
	}
	return nil
}

// gateRetry is how hard a decision tries a registry: it has a budget of
// seconds, not a crawl's patience (5 tries over ~4 s). A registry that
// refuses connections or keeps failing is unreachable after three quick
// tries, and a Retry-After longer than half the budget is not waited for.
func gateRetry(budget time.Duration) registry.RetryPolicy {
	if budget <= 0 {
		budget = gate.DefaultBudget
	}
	return registry.RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: budget / 4, MaxRetryAfter: budget / 2, Budget: 20}
}

// newGate builds a gate over the store and the registries; decisions go to
// log (nil: not logged).
func (e *env) newGate(st *sqlite.Store, pol *policy.Policy, cfg *registry.Config, f gateFlags, caller string, log gate.DecisionLog) (*gate.Gate, error) {
	o := gate.Options{
		Policy: pol, Store: st, Now: e.now, Budget: f.budget, Caller: caller, FactsTTL: f.factsTTL, Log: log,
		Source: &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: registrySBOMs{st: st, now: e.now}, Now: e.now, Getenv: e.getenv,
			Retry: gateRetry(f.budget)}, Config: cfg, Insecure: f.insecure},
	}
	if f.failOpen {
		o.FailureMode = gate.FailOpen
	}
	if pol.Trust != nil {
		v, err := signature.NewVerifier(pol.Trust)
		if err != nil {
			return nil, fmt.Errorf("trust policy: %w", err)
		}
		o.Signatures = &sigstatus.Checker{Verifier: v, Store: st, Now: e.now}
	}
	return gate.New(o)
}

// annotate writes GitHub Actions workflow commands, one per violation
// shown to people (enforce: error, warn: warning; audit is only logged).
func annotate(w io.Writer, rep gate.Report) {
	for _, d := range rep.Decisions {
		for _, v := range d.Violations {
			kind := ""
			switch v.Mode {
			case gate.ModeEnforce:
				kind = "error"
			case gate.ModeWarn:
				kind = "warning"
			default:
				continue
			}
			fmt.Fprintf(w, "::%s title=%s::%s: %s\n", kind, escapeProperty("safeguard gate: "+v.Rule), escapeData(d.Reference), escapeData(v.Message))
		}
	}
}

// Workflow command escaping (actions/toolkit core/src/command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func (e *env) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check a policy file, and run its policy tests",
	}
	cmd.AddCommand(e.policyCheckCommand(), e.policyTestCommand())
	return cmd
}

func (e *env) policyCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a policy file: schema, rule parameters, CEL expressions, waivers",
		Long: `check loads FILE as the gate would and reports the first problem with its line,
or the policy's name, hash and rules. Exit status: 0 valid, 2 invalid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := policy.Load(args[0])
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(e.stdout, "%s: policy %q is valid (%s)\n", args[0], p.Name, p.Hash())
			for _, r := range p.Rules {
				scope := scopeText(r.Scope)
				fmt.Fprintf(e.stdout, "  %-20s %-16s %-8s %s\n", r.Name, r.Type, r.Mode, scope)
			}
			now := e.now()
			for _, w := range p.Waivers {
				state := "active"
				if w.Expired(now) {
					state = "EXPIRED"
				}
				fmt.Fprintf(e.stdout, "  waiver %s: %s\n", state, w.Label())
			}
			return nil
		},
	}
}

func scopeText(s policy.Scope) string {
	var parts []string
	if len(s.Environments) > 0 {
		parts = append(parts, "env "+strings.Join(s.Environments, ","))
	}
	if len(s.Namespaces) > 0 {
		parts = append(parts, "namespaces "+strings.Join(s.Namespaces, ","))
	}
	if len(s.Images) > 0 {
		parts = append(parts, "images "+strings.Join(s.Images, ","))
	}
	if len(parts) == 0 {
		return "everywhere"
	}
	return strings.Join(parts, "; ")
}

func (e *env) policyTestCommand() *cobra.Command {
	var (
		pol    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "test [--policy FILE] DIR",
		Short: "Run policy tests: fact fixtures with expected verdicts",
		Long: `test runs every *.yaml, *.yml and *.json file in DIR as a policy test file: each
names its policy (policy: ../policy.yaml, relative to the file; --policy overrides)
and lists cases with facts, a deployment context and the expected verdict and
violated rules (see docs/POLICY.md). Exit status: 0 all pass, 1 a case failed,
2 a file or the policy is invalid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want text or json", format)}
			}
			var p *policy.Policy
			if pol != "" {
				var err error
				if p, err = policy.Load(pol); err != nil {
					return usageError{err}
				}
			}
			outs, err := policy.RunTests(args[0], p, e.now())
			if err != nil {
				return usageError{err}
			}
			failed := 0
			for _, o := range outs {
				if !o.Pass {
					failed++
				}
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(outs); err != nil {
					return err
				}
			} else {
				for _, o := range outs {
					mark := "PASS"
					if !o.Pass {
						mark = "FAIL"
					}
					fmt.Fprintf(e.stdout, "%s  %s: %s\n", mark, filepath.Base(o.File), o.Name)
					for _, pr := range o.Problems {
						fmt.Fprintf(e.stdout, "      %s\n", pr)
					}
				}
				fmt.Fprintf(e.stdout, "%d cases, %d failed\n", len(outs), failed)
			}
			if failed > 0 {
				return fmt.Errorf("%w: %d policy test cases failed", errCheckFailed, failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pol, "policy", "", "policy file for every test file (default: the one each file names)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// serveGate builds the gate serve answers POST /api/v1/gate with, logging
// to log; nil (no gate) without a policy file.
func (e *env) serveGate(st *sqlite.Store, cfg *registry.Config, path string, log gate.DecisionLog) (*gate.Gate, error) {
	if path == "" {
		return nil, nil
	}
	pol, err := policy.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return e.newGate(st, pol, cfg, gateFlags{budget: gate.DefaultBudget, factsTTL: longRunningFactsTTL}, "api", log)
}
