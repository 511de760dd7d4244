package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// errNotSigned marks a verify whose image is not signed by an allowed signer.
var errNotSigned = fmt.Errorf("%w: not signed by a trusted signer", errCheckFailed)

// loadChecker builds the signature checker for a trust-policy file; an
// empty path means no policy (nil checker).
func loadChecker(path string, st *sqlite.Store, now func() time.Time) (*sigstatus.Checker, *signature.Policy, error) {
	if path == "" {
		return nil, nil, nil
	}
	pol, err := signature.LoadPolicy(path)
	if err != nil {
		return nil, nil, err
	}
	v, err := signature.NewVerifier(pol)
	if err != nil {
		return nil, nil, fmt.Errorf("trust policy %s: %w", path, err)
	}
	return &sigstatus.Checker{Verifier: v, Store: st, Now: now}, pol, nil
}

func (e *env) verifyCommand() *cobra.Command {
	var (
		db, policy, format string
		signers            []string
		insecure           bool
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE --trust-policy FILE [--signer NAME]... [--format table|json]",
		Short: "Verify who signed an image digest, and read its provenance",
		Long: `verify resolves IMAGE (a tag is resolved to the digest it points at now — the
digest is what is verified, never the tag), fetches what is attached to it (cosign
.sig/.att, Sigstore bundle and notation referrers) and verifies every signature
offline against the trust policy: keys, or keyless identities (OIDC issuer and
subject) chained to the trusted Fulcio roots with the transparency-log proof.
--signer restricts which of the policy's signers count.

Exit status: 0 signed by an allowed signer, 1 not (unsigned, invalid, untrusted,
notation), 2 error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if policy == "" {
				return usageError{errors.New("--trust-policy FILE is required")}
			}
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			opts := []name.Option{name.StrictValidation}
			if insecure {
				opts = append(opts, name.Insecure)
			}
			ref, err := name.ParseReference(args[0], opts...)
			if err != nil {
				return usageError{fmt.Errorf("image reference %q: %w", args[0], err)}
			}
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			checker, pol, err := loadChecker(policy, st, e.now)
			if err != nil {
				return err
			}
			for _, s := range signers {
				if !slices.ContainsFunc(pol.Signers, func(p signature.Signer) bool { return p.Name == s }) {
					return usageError{fmt.Errorf("--signer %q is not a signer of %s", s, policy)}
				}
			}
			digest, index, err := e.fetchForVerify(ctx, st, ref, insecure)
			if err != nil {
				return err
			}
			d, err := checker.Refresh(ctx, digest, index)
			if err != nil {
				return err
			}
			if len(signers) > 0 && d.Status == signature.StatusSigned && !slices.Contains(signers, d.Signer) {
				d.Status = signature.StatusUntrusted
				d.Reasons = append(d.Reasons, fmt.Sprintf("signed by %s, expected %s", d.Signer, strings.Join(signers, " or ")))
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(d); err != nil {
					return err
				}
			} else {
				printVerify(e, ref.String(), d)
			}
			if d.Status != signature.StatusSigned {
				return errNotSigned
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringVar(&policy, "trust-policy", "", "trust policy file (YAML): signers and trusted root")
	cmd.Flags().StringArrayVar(&signers, "signer", nil, "only this signer of the policy counts (repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "talk plain HTTP to the registry (loopback test registries)")
	return cmd
}

// fetchForVerify resolves ref to a digest and crawls that one tag or
// digest, so its image and signature material are in the store.
func (e *env) fetchForVerify(ctx context.Context, st *sqlite.Store, ref name.Reference, insecure bool) (digest, index string, err error) {
	repo := ref.Context()
	rc := registry.RegistryConfig{Name: "verify", Host: repo.RegistryStr(), Insecure: insecure, Repositories: []string{repo.RepositoryStr()}}
	c := &registry.Crawler{Inventory: st, SBOMs: registrySBOMs{st: st, now: e.now}, Now: e.now, Getenv: e.getenv}
	if _, err := c.CrawlRepository(ctx, rc, repo.RepositoryStr()); err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", repo, err)
	}
	switch r := ref.(type) {
	case name.Digest:
		digest = r.DigestStr()
	case name.Tag:
		tags, err := st.CurrentTags(ctx, repo.RegistryStr()+"/"+repo.RepositoryStr())
		if err != nil {
			return "", "", err
		}
		var ok bool
		if digest, ok = tags[r.TagStr()]; !ok {
			return "", "", fmt.Errorf("%s: no such tag", ref)
		}
	}
	all, err := st.Digests(ctx)
	if err != nil {
		return "", "", err
	}
	index, known := all[digest]
	if !known {
		return "", "", fmt.Errorf("%s: digest %s not found in the repository", ref, digest)
	}
	return digest, index, nil
}

func printVerify(e *env, ref string, d sigstatus.Detail) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "image\t%s\n", ref)
	fmt.Fprintf(tw, "digest\t%s\n", d.Digest)
	fmt.Fprintf(tw, "status\t%s\n", d.Status)
	if d.Signer != "" {
		fmt.Fprintf(tw, "signer\t%s\n", d.Signer)
	}
	if d.Issuer != "" || d.Subject != "" {
		fmt.Fprintf(tw, "identity\t%s (issuer %s)\n", d.Subject, d.Issuer)
	}
	if d.KeyID != "" {
		fmt.Fprintf(tw, "key\t%s\n", d.KeyID)
	}
	if d.LogIndex >= 0 {
		fmt.Fprintf(tw, "log index\t%d\n", d.LogIndex)
	}
	if !d.SignedAt.IsZero() {
		fmt.Fprintf(tw, "signed at\t%s\n", d.SignedAt.UTC().Format(time.RFC3339))
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(tw, "reason\t%s\n", r)
	}
	for _, a := range d.Attestations {
		fmt.Fprintf(tw, "attestation\t%s %s (%s)\n", a.Kind, a.PredicateType, a.Status)
	}
	for _, p := range d.Provenance {
		fmt.Fprintf(tw, "provenance\tbuilder %s, source %s@%s, build type %s\n", p.BuilderID, p.SourceRepository, p.SourceCommit, p.BuildType)
	}
	tw.Flush()
}
