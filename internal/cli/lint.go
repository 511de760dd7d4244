package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/dockerfile"
	"github.com/safeguard-dev/safeguard/imageref"
)

// lintOptions are the flags of safeguard lint.
type lintOptions struct {
	format        string
	orgRegistries []string
	approvedBases []string
	buildArgs     []string
	allowUnpinned bool
	online        bool
	timeout       time.Duration
	mirrors       []string
}

func (e *env) lintCommand() *cobra.Command {
	var o lintOptions
	cmd := &cobra.Command{
		Use:   "lint [flags] DOCKERFILE...",
		Short: "Check every image a Dockerfile pulls: typosquats, look-alike registries, malformed references, unknown tags, :latest, missing digests",
		Long: `Parses each Dockerfile with BuildKit's parser and checks every image it pulls
(FROM, COPY --from, RUN --mount=from), after ARG substitution, against the
catalogue of well-known images, publishers and registries.

Exit status: 0 no findings, 1 findings, 2 bad input (a missing or unparsable
Dockerfile, a bad flag); on bad input nothing is written to stdout.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return e.lint(o, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output: text, json or sarif")
	f.StringArrayVar(&o.orgRegistries, "org-registry", nil, "the organisation's registry (registry.acme.corp) or Docker Hub namespace (docker.io/acme): trusted, and its look-alikes flagged (repeatable)")
	f.StringArrayVar(&o.approvedBases, "approved-base", nil, "an approved base image (registry.acme.corp/base/node): trusted, and its look-alikes flagged (repeatable)")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "KEY=VALUE overriding an ARG default, as docker build does (repeatable)")
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "do not report references without a digest")
	f.BoolVar(&o.online, "online", false, "check tags against the registry's tag list (falls back to the catalogue's release patterns when unreachable)")
	f.DurationVar(&o.timeout, "registry-timeout", imageref.DefaultTagTimeout, "time limit of one registry tag listing with --online")
	f.StringArrayVar(&o.mirrors, "registry-mirror", nil, "REGISTRY=HOST: list REGISTRY's tags from the mirror HOST with --online (repeatable)")
	return cmd
}

func (e *env) lint(o lintOptions, paths []string) error {
	switch o.format {
	case "text", "json", "sarif":
	default:
		return usageError{fmt.Errorf("unknown --format %q: want text, json or sarif", o.format)}
	}
	opts := dockerfile.Options{AllowUnpinned: o.allowUnpinned, BuildArgs: map[string]string{}}
	for _, kv := range o.buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--build-arg %q: want KEY=VALUE", kv)}
		}
		opts.BuildArgs[k] = v
	}
	cat, err := imageref.Default().Extend(o.orgRegistries, o.approvedBases)
	if err != nil {
		return usageError{err}
	}
	opts.Catalog = cat
	if o.online {
		mirrors := map[string]string{}
		for _, m := range o.mirrors {
			reg, host, ok := strings.Cut(m, "=")
			if !ok || reg == "" || host == "" {
				return usageError{fmt.Errorf("--registry-mirror %q: want REGISTRY=HOST", m)}
			}
			mirrors[reg] = host
		}
		opts.Tags = &imageref.RegistryTags{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: o.timeout, Mirrors: mirrors}
	} else if len(o.mirrors) > 0 {
		return usageError{errors.New("--registry-mirror needs --online")}
	}
	// Read and parse everything before writing anything.
	reports := make([]dockerfile.Report, 0, len(paths))
	for _, p := range paths {
		data, err := readDockerfile(p)
		if err != nil {
			return err
		}
		r, err := dockerfile.Lint(p, data, opts)
		if err != nil {
			return fmt.Errorf("lint %w", err)
		}
		reports = append(reports, r)
	}
	var werr error
	switch o.format {
	case "json":
		werr = writeLintJSON(e.stdout, reports)
	case "sarif":
		werr = writeLintSARIF(e.stdout, reports)
	default:
		werr = writeLintText(e.stdout, reports)
	}
	if werr != nil {
		return werr
	}
	if n := countLintFindings(reports); n > 0 {
		return fmt.Errorf("%d lint findings: %w", n, errCheckFailed)
	}
	return nil
}

func readDockerfile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", p, errors.Unwrap(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("lint %s: is a directory, not a Dockerfile", p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", p, err)
	}
	return data, nil
}

func countLintFindings(reports []dockerfile.Report) int {
	n := 0
	for _, r := range reports {
		n += len(r.Findings)
	}
	return n
}

type lintSummary struct {
	Files      int            `json:"files"`
	Stages     int            `json:"stages"`
	References int            `json:"references"`
	Findings   int            `json:"findings"`
	ByKind     map[string]int `json:"by_kind"`
}

func summarizeLint(reports []dockerfile.Report) lintSummary {
	s := lintSummary{Files: len(reports), ByKind: map[string]int{}}
	for _, r := range reports {
		s.Stages += r.Stages
		s.References += r.References
		s.Findings += len(r.Findings)
		for _, f := range r.Findings {
			s.ByKind[f.Kind]++
		}
	}
	return s
}

func writeLintJSON(w io.Writer, reports []dockerfile.Report) error {
	type file struct {
		File       string `json:"file"`
		Stages     int    `json:"stages"`
		References int    `json:"references"`
		Findings   int    `json:"findings"`
	}
	out := struct {
		Files    []file               `json:"files"`
		Findings []dockerfile.Finding `json:"findings"`
		Summary  lintSummary          `json:"summary"`
	}{Files: []file{}, Findings: []dockerfile.Finding{}, Summary: summarizeLint(reports)}
	for _, r := range reports {
		out.Files = append(out.Files, file{r.File, r.Stages, r.References, len(r.Findings)})
		out.Findings = append(out.Findings, r.Findings...)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // suggestions hold <digest>
	return enc.Encode(out)
}

// writeLintText groups findings by the line and reference they are about.
func writeLintText(w io.Writer, reports []dockerfile.Report) error {
	var b strings.Builder
	for _, r := range reports {
		for i := 0; i < len(r.Findings); {
			f := r.Findings[i]
			ref := f.Reference
			if f.Written != "" {
				ref = f.Written
				if f.Reference != "" {
					ref += " (" + f.Reference + ")"
				}
			}
			fmt.Fprintf(&b, "%s:%d  stage %s  %s %s\n", f.File, f.Line, f.Stage, f.Instruction, ref)
			for ; i < len(r.Findings) && r.Findings[i].Line == f.Line && r.Findings[i].Reference == f.Reference && r.Findings[i].Instruction == f.Instruction; i++ {
				g := r.Findings[i]
				fmt.Fprintf(&b, "  %-20s %s\n", g.Kind, g.Message)
				if g.Suggestion != "" {
					fmt.Fprintf(&b, "  %-20s suggestion: %s\n", "", g.Suggestion)
				}
			}
			b.WriteByte('\n')
		}
	}
	s := summarizeLint(reports)
	fmt.Fprintf(&b, "%s, %s, %s checked: ", plural(s.Files, "file"), plural(s.Stages, "stage"), plural(s.References, "image reference"))
	if s.Findings == 0 {
		b.WriteString("no findings.\n")
	} else {
		kinds := make([]string, 0, len(s.ByKind))
		for k := range s.ByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%d %s", s.ByKind[k], k)
		}
		fmt.Fprintf(&b, "%s (%s).\n", plural(s.Findings, "finding"), strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, printable(b.String()))
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// lintRules describes each finding kind once, as a SARIF rule.
var lintRules = map[string]struct{ level, text string }{
	imageref.KindMalformed:          {"error", "Image reference is not valid under the distribution reference grammar"},
	imageref.KindTyposquatName:      {"error", "Image name looks like a well-known image (typosquat)"},
	imageref.KindTyposquatNamespace: {"error", "Docker Hub namespace looks like a well-known publisher (typosquat)"},
	imageref.KindImpersonation:      {"error", "Official image name under an unknown namespace (impersonation)"},
	imageref.KindLookalikeRegistry:  {"error", "Registry host looks like a well-known registry"},
	imageref.KindUnknownTag:         {"warning", "Tag is not a release of the image"},
	imageref.KindLatest:             {"warning", "Reference uses the mutable tag :latest"},
	imageref.KindUnpinned:           {"warning", "Reference is not pinned to a digest"},
	dockerfile.KindUnresolved:       {"warning", "Reference uses an ARG with no value and cannot be checked"},
}

func writeLintSARIF(w io.Writer, reports []dockerfile.Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "safeguard", InformationURI: "https://github.com/safeguard-dev/safeguard", Rules: []sarifRule{}}}, Results: []sarifResult{}}
	used := map[string]bool{}
	for _, r := range reports {
		for _, f := range r.Findings {
			used[f.Kind] = true
			level := lintRules[f.Kind].level
			if level == "" {
				level = "warning"
			}
			props := map[string]any{"stage": f.Stage, "instruction": f.Instruction, "reference": f.Reference}
			if f.Resembles != "" {
				props["resembles"] = f.Resembles
			}
			if f.Suggestion != "" {
				props["suggestion"] = f.Suggestion
			}
			run.Results = append(run.Results, sarifResult{RuleID: f.Kind, Level: level, Message: sarifText{f.Message},
				Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.File},
					Region: &sarifRegion{StartLine: max(f.Line, 1)}}}},
				Properties: props})
		}
	}
	kinds := make([]string, 0, len(used))
	for k := range used {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		text := lintRules[k].text
		if text == "" {
			text = k
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: k, ShortDescription: sarifText{text},
			Properties: map[string]any{"tags": []string{"security", "supply-chain"}}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // suggestions hold <digest>
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
