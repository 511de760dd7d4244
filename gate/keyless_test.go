package gate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// keylessGate is a gate whose policy requires signer ci, defined keyless
// by signerYAML in its trust policy over the fake Sigstore.
func keylessGate(t *testing.T, st *sqlite.Store, ss *gatetest.Sigstore, signerYAML string) *gate.Gate {
	t.Helper()
	dir := t.TempDir()
	trust := fmt.Sprintf("signers:\n  - name: ci\n    keyless: %s\ntrusted_root:\n  file: %s\n", signerYAML, ss.TrustedRootPath)
	os.WriteFile(filepath.Join(dir, "trust.yaml"), []byte(trust), 0o644)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("version: 1\nname: keyless\ntrust_policy: trust.yaml\nrules:\n  - {name: signed-by-ci, type: signature, with: {signers: [ci]}}\n"), 0o644)
	p, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.NewVerifier(p.Trust)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(gate.Options{Policy: p, Store: st, Now: time.Now,
		Signatures: &sigstatus.Checker{Verifier: v, Store: st},
		Source:     &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st}}, Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// C63 and C65 through the gate, with real keyless signatures (an
// in-process Fulcio CA and Rekor key) verified under the trust policy.
func TestKeylessIdentitiesThroughTheGate(t *testing.T) {
	w := gatetest.New(t)
	st := gatetest.Store(t, "..")
	ss := gatetest.NewSigstore(t, t.TempDir())
	const gh = "https://token.actions.githubusercontent.com"
	const release = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"
	fork := w.PushKeyless(t, ss, "acme/k-fork:1", 101, "https://github.com/acme/app-fork/.github/workflows/release.yml@refs/tags/v1.2.0", gh)
	ours := w.PushKeyless(t, ss, "acme/k-ours:1", 102, release, gh)
	notacme := w.PushKeyless(t, ss, "acme/k-notacme:1", 103, "https://github.com/notacme/app/.github/workflows/release.yml@refs/heads/main", gh)
	selfHosted := w.PushKeyless(t, ss, "acme/k-self:1", 104, "ci@acme.example", "https://self-hosted-oidc.example.net")
	acmeOIDC := w.PushKeyless(t, ss, "acme/k-oidc:1", 105, "ci@acme.example", "https://oidc.acme.example")

	exact := keylessGate(t, st, ss, fmt.Sprintf("{issuer: %q, subject: %q}", gh, release))
	regexp := keylessGate(t, st, ss, fmt.Sprintf("{issuer: %q, subject_regexp: %q}", gh, `acme/app/\.github/workflows/release\.yml`))
	issuer := keylessGate(t, st, ss, `{issuer: "https://oidc.acme.example", subject: "ci@acme.example"}`)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		g       *gate.Gate
		ref     string
		verdict string
	}{
		{"C63 exact identity: the fork's workflow", exact, fork, gate.Deny},
		{"C63 exact identity: the release workflow", exact, ours, gate.Allow},
		{"C63 regexp is anchored: notacme", regexp, notacme, gate.Deny},
		{"C63 regexp is anchored: even our own full SAN is not the bare path", regexp, ours, gate.Deny},
		{"C65 issuer is part of the identity", issuer, selfHosted, gate.Deny},
		{"C65 the right issuer", issuer, acmeOIDC, gate.Allow},
	} {
		d := c.g.Evaluate(ctx, c.ref, gate.Input{})
		if d.Verdict != c.verdict {
			t.Errorf("%s: %s %+v", c.name, d.Verdict, d.Violations)
			continue
		}
		if c.verdict == gate.Deny && (len(d.Violations) != 1 || d.Violations[0].Rule != "signed-by-ci" || !strings.Contains(d.Violations[0].Message, "does not trust")) {
			t.Errorf("%s: %+v", c.name, d.Violations)
		}
	}
}
