package signature

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The sigstore-conformance runner (test/client.py, BundleMaterials.from_dir)
// verifies each bundle-verify/<case> with:
//   - the case's trusted_root.json, else the public-good production root;
//   - the case's key.pub when present (--key), else --certificate-identity
//     from the case's "identity" file (default below) and
//     --certificate-oidc-issuer from its "issuer" file (default below);
//   - the case's "artifact" file, else bundle-verify/a.txt, passed as a file
//     (so message signatures are checked over the artifact bytes).
//
// Cases named *_fail must be rejected, all others accepted.
const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// unfaithful lists the cases that cannot be run faithfully offline, with why.
var unfaithful = map[string]string{
	"managed-key-happy-path": "the bundle carries an RFC 3161 timestamp from timestamp.sigstore.dev, " +
		"which the runner checks against the live production trusted root (TUF); the public-good root in " +
		"the corpus predates that TSA (it lists only GitHub's), so the timestamp cannot be verified offline " +
		"and the strict verifier rejects the bundle",
}

func TestConformanceBundleVerify(t *testing.T) {
	base := "testdata/conformance/bundle-verify"
	defaultArtifact := readFile(t, filepath.Join(base, "a.txt"))
	dirs, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			if why, ok := unfaithful[name]; ok {
				t.Skip(why)
			}
			dir := filepath.Join(base, name)
			wantFail := strings.HasSuffix(name, "_fail")
			exists := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
			trusted := publicGoodRoot
			if exists("trusted_root.json") {
				trusted = filepath.Join(dir, "trusted_root.json")
			}
			var signer map[string]any
			if exists("key.pub") {
				signer = keySigner("managed-key", filepath.Join(dir, "key.pub"))
			} else {
				identity, issuer := conformanceIdentity, conformanceIssuer
				if exists("identity") {
					identity = strings.TrimSpace(string(readFile(t, filepath.Join(dir, "identity"))))
				}
				if exists("issuer") {
					issuer = strings.TrimSpace(string(readFile(t, filepath.Join(dir, "issuer"))))
				}
				signer = keylessSigner("conformance", issuer, identity)
			}
			art := defaultArtifact
			if exists("artifact") {
				art = readFile(t, filepath.Join(dir, "artifact"))
			}
			v, err := buildVerifier(trusted, signer)
			if err != nil {
				if wantFail {
					t.Logf("rejected at policy load: %v", err)
					return
				}
				t.Fatalf("policy: %v", err)
			}
			res := v.VerifyBlob(context.Background(), readFile(t, filepath.Join(dir, "bundle.sigstore.json")), art)
			if wantFail {
				if res.Status == StatusSigned {
					t.Fatalf("accepted a bundle that must fail: %+v", res)
				}
				if res.Reason == "" {
					t.Fatalf("rejected without a reason: %+v", res)
				}
				t.Logf("rejected (%s): %s", res.Status, res.Reason)
				return
			}
			if res.Status != StatusSigned {
				t.Fatalf("rejected a valid bundle: %s: %s", res.Status, res.Reason)
			}
		})
	}
	if n < 60 {
		t.Fatalf("only %d conformance cases found", n)
	}
}
