package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// existingStore opens the store at path, refusing to create one: reading
// commands on a missing store would only ever print nothing.
func (e *env) existingStore(cmd *cobra.Command, path string) (*sqlite.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s does not exist: crawl a registry or ingest SBOMs first, or give --db", path)
	}
	return openStore(cmd.Context(), path)
}

func (e *env) imagesCommand() *cobra.Command {
	var db, repo, format, policy, base string
	cmd := &cobra.Command{
		Use:   "images [--db FILE] [--repository REPO] [--base REF] [--trust-policy FILE] [--format table|json]",
		Short: "List inventoried images with their tags, platform, base and findings",
		Long: `images lists the inventory. --base REF keeps the images built on a base, at
any depth of their base chain: node:latest (normalised to
docker.io/library/node:latest) matches the images whose base carried that tag
when the image was built, not where the tag points today; repo@sha256:… matches
a base digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			var baseRepo, baseTag, baseDigest string
			if base != "" {
				var err error
				if baseRepo, baseTag, baseDigest, err = baseimage.ParseBase(base); err != nil {
					return usageError{fmt.Errorf("--base: %w", err)}
				}
			}
			st, err := e.existingStore(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			checker, _, err := loadChecker(policy, st, e.now)
			if err != nil {
				return err
			}
			imgs, err := st.Images(ctx, repo)
			if err != nil {
				return err
			}
			chains, err := st.BaseChains(ctx)
			if err != nil {
				return err
			}
			if base != "" {
				keep := baseimage.OnBase(chains, baseRepo, baseTag, baseDigest)
				imgs = slices.DeleteFunc(imgs, func(img store.Image) bool { return !keep[img.Digest] })
			}
			type row struct {
				Digest     string   `json:"digest"`
				Repository string   `json:"repository"`
				Platform   string   `json:"platform"`
				Tags       []string `json:"tags"`
				Created    string   `json:"created"`
				SBOMs      int      `json:"sboms"`
				Findings   int      `json:"findings"`
				KEV        int      `json:"kev"`
				Base       string   `json:"base"`                // the first link of its chain, "" before attribution
				Confidence string   `json:"base_confidence"`     //
				Signature  string   `json:"signature,omitempty"` // status under --trust-policy
				Signer     string   `json:"signer,omitempty"`
			}
			rows := make([]row, 0, len(imgs))
			for _, img := range imgs {
				tags, err := st.Tags(ctx, img.Digest)
				if err != nil {
					return err
				}
				sboms, err := st.ImageSBOMs(ctx, img.Digest)
				if err != nil {
					return err
				}
				r := row{Digest: img.Digest, Repository: img.Repository, Platform: platform(img.OS, img.Architecture, img.Variant),
					Tags: tags, Created: img.Created.UTC().Format(time.RFC3339), SBOMs: len(sboms)}
				if r.Tags == nil {
					r.Tags = []string{}
				}
				if c := chains[img.Digest]; len(c) > 0 {
					r.Base, r.Confidence = baseText(c[0]), c[0].Confidence
				}
				if checker != nil {
					d, err := checker.Status(ctx, img.Digest, img.IndexDigest)
					if err != nil {
						return err
					}
					r.Signature, r.Signer = string(d.Status), d.Signer
				}
				if len(sboms) > 0 {
					ids := make([]int64, len(sboms))
					for i, s := range sboms {
						ids[i] = s.ID
					}
					fs, err := st.Findings(ctx, store.FindingFilter{SBOMIDs: ids})
					if err != nil {
						return err
					}
					r.Findings = len(fs)
					for _, f := range fs {
						if f.KEV {
							r.KEV++
						}
					}
				}
				rows = append(rows, r)
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"images": rows})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tTAGS\tDIGEST\tPLATFORM\tCREATED\tBASE\tSIGNATURE\tSIGNER\tSBOMS\tFINDINGS\tKEV")
			for _, r := range rows {
				tags := make([]string, len(r.Tags))
				for i, t := range r.Tags {
					tags[i] = t[strings.LastIndex(t, ":")+1:]
				}
				sig, signer := r.Signature, r.Signer
				if sig == "" {
					sig = "-" // no --trust-policy
				}
				if signer == "" {
					signer = "-"
				}
				b := "-"
				if r.Base != "" {
					b = r.Base + " (" + r.Confidence + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", r.Repository, strings.Join(tags, ","), shortDigest(r.Digest), r.Platform, r.Created, b, sig, signer, r.SBOMs, r.Findings, r.KEV)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringVar(&repo, "repository", "", "only images of this repository (host/path)")
	cmd.Flags().StringVar(&base, "base", "", "only images built on this base (node:latest, host/path:tag, host/path@sha256:…)")
	cmd.Flags().StringVar(&policy, "trust-policy", "", "show signature status under this trust policy")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func (e *env) eventsCommand() *cobra.Command {
	var (
		db, format string
		kinds      []string
		since      time.Duration
		limit      int
	)
	cmd := &cobra.Command{
		Use:   "events [--db FILE] [--kind tag_moved|tag_deleted|new_image|new_kev_finding]... [--since 24h] [--format table|json]",
		Short: "List events: moved tags (overwrites), deleted tags, new images, new KEV findings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			for _, k := range kinds {
				switch k {
				case "tag_moved", "tag_deleted", "new_image", "new_kev_finding":
				default:
					return usageError{fmt.Errorf("unknown --kind %q: want tag_moved, tag_deleted, new_image or new_kev_finding", k)}
				}
			}
			st, err := e.existingStore(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			f := sqlite.EventFilter{Kinds: kinds, Limit: limit}
			if since > 0 {
				f.Since = e.now().Add(-since)
			}
			evs, err := st.Events(cmd.Context(), f)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"events": evs})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tKIND\tREPOSITORY\tTAG\tFROM\tTO\tDETAIL")
			for _, ev := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.At.UTC().Format(time.RFC3339), ev.Kind, ev.Repository, ev.Tag,
					shortDigest(ev.OldDigest), shortDigest(ev.Digest), ev.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringArrayVar(&kinds, "kind", nil, "only events of this kind (repeatable)")
	cmd.Flags().DurationVar(&since, "since", 0, "only events newer than this (e.g. 24h)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many events (newest first)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// baseText is a link's base as a table shows it: repository:tag, or the
// digest when no tag is known, or "none".
func baseText(l store.BaseLink) string {
	switch {
	case l.BaseRepository == "" && l.BaseDigest == "":
		return "none"
	case l.BaseTag != "":
		return l.BaseRepository + ":" + l.BaseTag
	}
	return l.BaseRepository + "@" + shortDigest(l.BaseDigest)
}

func platform(os, arch, variant string) string {
	p := os + "/" + arch
	if variant != "" {
		p += "/" + variant
	}
	return p
}

func shortDigest(d string) string {
	if i := strings.Index(d, ":"); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
