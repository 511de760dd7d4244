package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/report"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func (e *env) imageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Show one inventoried image: tags, base chain, outdated base, findings",
	}
	cmd.AddCommand(e.imageShowCommand())
	return cmd
}

func (e *env) imageShowCommand() *cobra.Command {
	var db, format, policy, plat string
	cmd := &cobra.Command{
		Use:   "show REF|DIGEST [--db FILE] [--platform os/arch] [--trust-policy FILE] [--format table|json]",
		Short: "Show an image with its base chain, whether its base is outdated, and its findings",
		Long: `show looks an image up in the store by digest (sha256:…), by repository@digest,
or by repository:tag as last crawled (a tag of a multi-arch index picks
--platform, default linux/amd64). Names are normalised as Docker does: node:20
is docker.io/library/node:20.

The base chain lists each link (the image's base, that base's base, …) with
the tag the base carried when the image was built, how it was found
(annotation, provenance, layers), how sure that is (certain, high, ambiguous,
guess, unknown), a note and the alternatives (copies, tied candidates). When
the base's tag has since moved, a rebuild is recommended with the findings
it would remove. Findings say whether the base brought them (in_base).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			st, err := e.existingStore(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			img, err := resolveImage(ctx, st, args[0], plat)
			if err != nil {
				return err
			}
			checker, _, err := loadChecker(policy, st, e.now)
			if err != nil {
				return err
			}
			v, err := imageView(ctx, st, img)
			if err != nil {
				return err
			}
			if checker != nil {
				d, err := checker.Status(ctx, img.Digest, img.IndexDigest)
				if err != nil {
					return err
				}
				v.Signature = &d
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return printImage(e.stdout, v)
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	f.StringVar(&plat, "platform", "linux/amd64", "platform to pick when a tag names a multi-arch index")
	f.StringVar(&policy, "trust-policy", "", "show signature status under this trust policy")
	f.StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// imageJSON is what 'image show --format json' prints.
type imageJSON struct {
	Image     store.Image           `json:"image"`
	Platform  string                `json:"platform"`
	Tags      []string              `json:"tags"`
	Base      baseimage.Description `json:"base"`
	Findings  []report.Finding      `json:"findings"`
	Summary   imageSummary          `json:"finding_summary"`
	Signature *sigstatus.Detail     `json:"signature,omitempty"` // with --trust-policy
}

type imageSummary struct {
	report.Summary
	// FromBase counts findings whose package the base brought; null when
	// the base's packages are not known.
	FromBase *int `json:"from_base"`
}

func imageView(ctx context.Context, st *sqlite.Store, img store.Image) (imageJSON, error) {
	v := imageJSON{Image: img, Platform: platform(img.OS, img.Architecture, img.Variant), Findings: []report.Finding{}}
	v.Image.Layers, v.Image.DiffIDs = nonNilStrings(img.Layers), nonNilStrings(img.DiffIDs)
	var err error
	if v.Tags, err = st.Tags(ctx, img.Digest); err != nil {
		return v, err
	}
	v.Tags = nonNilStrings(v.Tags)
	if v.Base, err = baseimage.Describe(ctx, st, img); err != nil {
		return v, err
	}
	sboms, err := st.ImageSBOMs(ctx, img.Digest)
	if err != nil {
		return v, err
	}
	var fs []store.Finding
	if len(sboms) > 0 {
		ids := make([]int64, len(sboms))
		for i, s := range sboms {
			ids[i] = s.ID
		}
		if fs, err = st.Findings(ctx, store.FindingFilter{SBOMIDs: ids}); err != nil {
			return v, err
		}
	}
	from := 0
	for _, f := range fs {
		rf := report.NewFinding(f)
		rf.InBase = v.Base.InBase(f.Package)
		if rf.InBase != nil && *rf.InBase {
			from++
		}
		v.Findings = append(v.Findings, rf)
	}
	v.Summary.Summary = report.Summarize(fs)
	if v.Base.BaseSBOM {
		v.Summary.FromBase = &from
	}
	return v, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// resolveImage finds the stored image a reference names.
func resolveImage(ctx context.Context, st *sqlite.Store, ref, plat string) (store.Image, error) {
	bad := func(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }
	digest := ""
	switch {
	case strings.HasPrefix(ref, "sha256:") && len(ref) < len("sha256:")+64:
		// The short form the tables print (sha256:43e4426683af).
		imgs, err := st.Images(ctx, "")
		if err != nil {
			return store.Image{}, err
		}
		var found []string
		for _, img := range imgs {
			for _, d := range []string{img.Digest, img.IndexDigest} {
				if d != "" && strings.HasPrefix(d, ref) && !slices.Contains(found, d) {
					found = append(found, d)
				}
			}
		}
		switch len(found) {
		case 0:
			return store.Image{}, bad("no image in the store has a digest starting with %s", ref)
		case 1:
			digest = found[0]
		default:
			return store.Image{}, bad("%s is the start of %d digests in the store; give more of it", ref, len(found))
		}
	case strings.HasPrefix(ref, "sha256:"):
		digest = ref
	default:
		repo, tag, d, err := baseimage.ParseBase(ref)
		if err != nil {
			why := strings.TrimPrefix(err.Error(), fmt.Sprintf("base %q: ", strings.TrimSpace(ref)))
			if strings.HasPrefix(why, "want a reference") {
				why = "want a reference such as ghcr.io/acme/api:1, a digest sha256:…, or the short digest the images table prints"
			}
			return store.Image{}, usageError{fmt.Errorf("image %q: %s", ref, why)}
		}
		digest = d
		if digest == "" {
			tags, err := st.CurrentTags(ctx, repo)
			if err != nil {
				return store.Image{}, err
			}
			if digest = tags[tag]; digest == "" {
				return store.Image{}, bad("no image tagged %s:%s in the store (crawled repositories are named host/path)", repo, tag)
			}
		}
	}
	img, err := st.Image(ctx, digest)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return img, err
	}
	// An index: the platform image under it.
	imgs, err := st.Images(ctx, "")
	if err != nil {
		return store.Image{}, err
	}
	var seen []string
	for _, img := range imgs {
		if img.IndexDigest == digest {
			p := platform(img.OS, img.Architecture, img.Variant)
			if p == plat || platform(img.OS, img.Architecture, "") == plat {
				return img, nil
			}
			seen = append(seen, p)
		}
	}
	if len(seen) > 0 {
		return store.Image{}, bad("%s is an index without a %s image (it has %s): give --platform", digest, plat, strings.Join(seen, ", "))
	}
	return store.Image{}, bad("image %s is not in the store", digest)
}

func printImage(w io.Writer, v imageJSON) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "image\t%s@%s\n", v.Image.Repository, v.Image.Digest)
	fmt.Fprintf(tw, "platform\t%s\n", v.Platform)
	fmt.Fprintf(tw, "created\t%s\n", v.Image.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "tags\t%s\n", orDash(strings.Join(v.Tags, ", ")))
	if v.Signature != nil {
		fmt.Fprintf(tw, "signature\t%s (signer %s)\n", v.Signature.Status, orDash(v.Signature.Signer))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if !v.Base.Attributed {
		fmt.Fprintln(w, "base chain: not attributed yet (crawl the registry to attribute it)")
	} else {
		fmt.Fprintln(w, "base chain:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tBASE\tTAG AT BUILD\tMETHOD\tCONFIDENCE\tSHARED LAYERS")
		for i, l := range v.Base.Chain {
			base := "-"
			if l.Base.Repository != "" || l.Base.Digest != "" {
				base = l.Base.Repository + "@" + shortDigest(l.Base.Digest)
			}
			tag := orDash(l.Base.Tag)
			if len(l.Base.Tags) > 1 {
				tag += " (" + strings.Join(l.Base.Tags, ",") + ")"
			}
			conf := l.Confidence
			if l.Identical {
				conf += ", identical"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%d\n", i+1, base, tag, l.Method, conf, l.SharedLayers)
		}
		tw.Flush()
		for i, l := range v.Base.Chain {
			if l.Note != "" {
				fmt.Fprintf(w, "  %d note: %s\n", i+1, l.Note)
			}
			for _, a := range l.Alternatives {
				fmt.Fprintf(w, "  %d alternative: %s\n", i+1, a)
			}
		}
	}
	if o := v.Base.Outdated; o != nil {
		switch {
		case o.RebuildRecommended:
			fmt.Fprintf(w, "\nbase outdated: rebuild recommended: %s:%s now points at %s (since %s)\n", o.Repository, o.Tag, shortDigest(o.CurrentDigest), o.Since.UTC().Format(time.RFC3339))
			if o.RemovesKnown {
				fmt.Fprintf(w, "  a rebuild on the current base would remove %d of the base's findings\n", len(o.Removes))
				tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, f := range o.Removes {
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", f.Vulnerability, f.Package.Name, f.Package.Version, f.Severity)
				}
				tw.Flush()
			}
		default:
			fmt.Fprintf(w, "\nbase current: %s:%s still points at the base\n", o.Repository, o.Tag)
		}
		if o.Note != "" && !o.RebuildRecommended {
			fmt.Fprintf(w, "  note: %s\n", o.Note)
		} else if o.RebuildRecommended && !o.RemovesKnown {
			fmt.Fprintf(w, "  the findings a rebuild would remove are not known: the old or the new base has no SBOM\n")
		}
		if len(o.MovedTags) > 0 {
			fmt.Fprintf(w, "  other tags it carried that moved since: %s\n", strings.Join(o.MovedTags, ", "))
		}
	}
	fmt.Fprintf(w, "\nfindings: %d (%d KEV)", v.Summary.Findings, v.Summary.KEV)
	if v.Summary.FromBase != nil {
		fmt.Fprintf(w, ", %d from the base", *v.Summary.FromBase)
	} else {
		fmt.Fprint(w, ", from the base: unknown (the base has no SBOM)")
	}
	fmt.Fprintln(w)
	if len(v.Findings) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  VULNERABILITY\tPACKAGE\tVERSION\tSEVERITY\tKEV\tIN BASE")
		for _, f := range v.Findings {
			in := "unknown"
			if f.InBase != nil {
				in = map[bool]string{true: "yes", false: "no"}[*f.InBase]
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%v\t%s\n", f.Vulnerability, f.Package.Name, f.Package.Version, f.Severity, f.KEV, in)
		}
		tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
