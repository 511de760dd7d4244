package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// registrySBOMs stores the SBOMs a crawl finds attached to images and
// matches them on arrival, as 'sbom ingest' does.
type registrySBOMs struct {
	st  *sqlite.Store
	now func() time.Time
}

func (s registrySBOMs) IngestAttached(ctx context.Context, imageRef, subject string, raw []byte, source string) (int64, error) {
	doc, err := sbom.Decode(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", registry.ErrUnusableSBOM, source, err)
	}
	if len(doc.Packages) == 0 {
		return 0, fmt.Errorf("%w: %s: %w", registry.ErrUnusableSBOM, source, sbom.ErrNoPackages)
	}
	res, err := s.st.IngestSBOM(ctx, store.IngestInput{Document: doc, Raw: raw, Source: source, Image: imageRef, At: s.now()})
	if err != nil {
		return 0, err
	}
	if _, err := vuln.Reconcile(ctx, s.st, store.Scope{PackageIDs: res.PackageIDs, Cause: store.CauseNewImage}, s.now()); err != nil {
		return res.SBOM.ID, err
	}
	return res.SBOM.ID, nil
}

func (e *env) registryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Track registries: add and list them, crawl their images, tags and referrers",
	}
	cmd.AddCommand(e.registryAddCommand(), e.registryListCommand(), e.registryCrawlCommand())
	return cmd
}

func (e *env) registryAddCommand() *cobra.Command {
	var (
		file                         string
		rc                           registry.RegistryConfig
		catalog                      bool
		include, exclude             []string
		username, passwordEnv, token string
		interval                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "add --config FILE NAME HOST [--insecure] [--repo R]... [--catalog [--include G]... [--exclude G]...] [--base G]...",
		Short: "Add a registry to the registries file (created when missing)",
		Long: `Add appends an entry to the registries file, keeping what is there (comments
included), and validates the result before writing it.

Credentials default to the Docker config and its credential helpers. The file
holds only the NAMES of environment variables: --username with --password-env,
or --token-env.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			rc.Name, rc.Host = args[0], args[1]
			if catalog || len(include) > 0 || len(exclude) > 0 {
				rc.Catalog = &registry.CatalogConfig{Include: include, Exclude: exclude}
			}
			rc.Credentials = registry.Credentials{Username: username, PasswordEnv: passwordEnv, TokenEnv: token}
			rc.Interval = registry.Duration(interval)
			if err := rc.Validate(); err != nil {
				return usageError{err}
			}
			if err := registry.AddToFile(file, rc); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "added registry %s (%s) to %s\n", rc.Name, rc.Host, file)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "config", "", "registries file (YAML)")
	f.BoolVar(&rc.Insecure, "insecure", false, "plain HTTP (loopback test registries)")
	f.StringArrayVar(&rc.Repositories, "repo", nil, "repository path to track (repeatable)")
	f.BoolVar(&catalog, "catalog", false, "track what the catalog API lists")
	f.StringArrayVar(&include, "include", nil, "catalog include glob (path.Match; repeatable)")
	f.StringArrayVar(&exclude, "exclude", nil, "catalog exclude glob (path.Match; repeatable)")
	f.StringVar(&username, "username", "", "user name for basic auth (with --password-env)")
	f.StringVar(&passwordEnv, "password-env", "", "NAME of the environment variable holding the password")
	f.StringVar(&token, "token-env", "", "NAME of the environment variable holding a bearer token")
	f.DurationVar(&interval, "interval", 0, "crawl interval (default 1h)")
	f.StringArrayVar(&rc.Notify, "notify", nil, "URL that receives moved-tag events as JSON (repeatable)")
	f.StringArrayVar(&rc.Bases, "base", nil, "glob of tracked repositories holding base images, e.g. 'library/*' (repeatable)")
	return cmd
}

func (e *env) registryListCommand() *cobra.Command {
	var file, format string
	cmd := &cobra.Command{
		Use:   "list --config FILE [--format table|json]",
		Short: "List the registries in the registries file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			cfg, err := registry.LoadConfig(file)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(cfg.Registries)
			case "table", "":
			default:
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHOST\tCREDENTIALS\tREPOSITORIES\tINTERVAL")
			for _, r := range cfg.Registries {
				host := r.Host
				if r.Insecure {
					host += " (http)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, host, credentialsText(r.Credentials), reposText(r), r.CrawlInterval())
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "registries file (YAML)")
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

func credentialsText(c registry.Credentials) string {
	switch {
	case c.TokenEnv != "":
		return "token $" + c.TokenEnv
	case c.Username != "":
		return c.Username + " / $" + c.PasswordEnv
	}
	return "docker config"
}

func reposText(r registry.RegistryConfig) string {
	parts := append([]string{}, r.Repositories...)
	if r.Catalog != nil {
		c := "catalog"
		if len(r.Catalog.Include) > 0 {
			c += " include " + strings.Join(r.Catalog.Include, ",")
		}
		if len(r.Catalog.Exclude) > 0 {
			c += " exclude " + strings.Join(r.Catalog.Exclude, ",")
		}
		parts = append(parts, c)
	}
	if len(r.Bases) > 0 {
		parts = append(parts, "bases "+strings.Join(r.Bases, ","))
	}
	return strings.Join(parts, ", ")
}

func (e *env) registryCrawlCommand() *cobra.Command {
	var file, db, format, policy string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "crawl --config FILE [--db FILE] [--format table|json] [NAME...]",
		Short: "Crawl registries: record images, tags, referrers; ingest and match attached SBOMs",
		Long: `Crawl lists each tracked repository's tags and resolves each with one HEAD
request: unchanged tags cost nothing more. New digests are fetched (indexes
expand to one image per platform), their referrers recorded, attached SBOMs
ingested and matched. Moved tags are posted to the registry's notify URLs.

Without NAME every registry in the file is crawled. Exit status 2 when a
registry or repository failed (the others are crawled regardless).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if file == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			cfg, err := registry.LoadConfig(file)
			if err != nil {
				return err
			}
			targets := cfg.Registries
			if len(args) > 0 {
				targets = nil
				for _, n := range args {
					rc, ok := cfg.Registry(n)
					if !ok {
						return usageError{fmt.Errorf("no registry named %q in %s", n, file)}
					}
					targets = append(targets, rc)
				}
			}
			if len(targets) == 0 {
				return usageError{fmt.Errorf("%s lists no registries: add one with 'safeguard registry add'", file)}
			}
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			c := &registry.Crawler{
				Inventory: st,
				SBOMs:     registrySBOMs{st: st, now: e.now},
				Logger:    slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
				Now:       e.now,
				Getenv:    e.getenv,
				Notifier:  &registry.Notifier{},
			}
			checker, _, err := loadChecker(policy, st, e.now)
			if err != nil {
				return err
			}
			var sums []registry.Summary
			var failed []string
			for _, rc := range targets {
				sum, err := c.CrawlRegistry(ctx, rc)
				if err != nil {
					sum.Errors["(registry)"] = err.Error()
				}
				sums = append(sums, sum)
				if len(sum.Errors) > 0 {
					failed = append(failed, rc.Name)
				}
			}
			// Attribute base images: new images, and every image whose
			// answer the crawl changed (a base arrived, a tag moved).
			bsum, berr := baseimage.Refresh(ctx, st, cfg.IsBase, e.now())
			if berr != nil {
				return berr
			}
			if checker != nil {
				// Verify what the crawl brought, offline, under the policy.
				if _, err := checker.RefreshMissing(ctx); err != nil {
					return fmt.Errorf("verify signatures: %w", err)
				}
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(sums); err != nil {
					return err
				}
			} else {
				printCrawl(e, sums)
				fmt.Fprintf(e.stdout, "base images: %d images against %d catalogued (%d from base repositories); %d attributed for the first time, %d changed\n",
					bsum.Images, bsum.Catalogue, bsum.Preferred, bsum.New, bsum.Changed)
			}
			if len(failed) > 0 {
				return fmt.Errorf("crawl failed in part for %s (see the errors above)", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "registries file (YAML)")
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	cmd.Flags().StringVar(&policy, "trust-policy", "", "verify the signatures of crawled images against this trust policy")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log moved tags and retries as they happen")
	return cmd
}

func printCrawl(e *env, sums []registry.Summary) {
	for _, s := range sums {
		fmt.Fprintf(e.stdout, "registry %s (%s): %d repositories, %d tags (%d unchanged), %d new images, %d moved tags, %d deleted tags, %d referrers, %d SBOMs ingested; %d HTTP requests, %d retries, %s\n",
			s.Registry, s.Host, s.Repositories, s.TagsSeen, s.TagsUnchanged, s.NewImages, s.MovedTags, s.DeletedTags, s.Referrers, s.SBOMs, s.Requests, s.Retries, s.Duration.Round(time.Millisecond))
		for _, r := range s.Repos {
			for _, ev := range r.Events {
				switch ev.Kind {
				case store.EventTagMoved:
					fmt.Fprintf(e.stdout, "  moved   %s:%s %s -> %s\n", ev.Repository, ev.Tag, short(ev.OldDigest), short(ev.Digest))
				case store.EventTagDeleted:
					fmt.Fprintf(e.stdout, "  deleted %s:%s (was %s)\n", ev.Repository, ev.Tag, short(ev.OldDigest))
				}
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(e.stderr, "warning: %s: %s\n", r.Repository, w)
			}
		}
		repos := make([]string, 0, len(s.Errors))
		for r := range s.Errors {
			repos = append(repos, r)
		}
		sort.Strings(repos)
		for _, r := range repos {
			fmt.Fprintf(e.stderr, "error: %s: %s\n", r, s.Errors[r])
		}
	}
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
