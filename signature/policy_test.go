package signature

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePolicy(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, readFile(t, from), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, ci+"cosign.pub", filepath.Join(dir, "keys/release.pub"))
	copyFile(t, publicGoodRoot, filepath.Join(dir, "trusted_root.json"))
	p, err := LoadPolicy(writePolicy(t, dir, `
signers:
  - name: ci
    keyless:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*
  - name: release-key
    key: keys/release.pub
trusted_root:
  file: trusted_root.json
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Signers[0].Keyless.AnchoredSubjectRegexp(); got != `^(?:https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*)$` {
		t.Fatalf("regexp not anchored: %s", got)
	}
	if p.Signers[1].Key.KeyID() == "" {
		t.Fatal("no key id")
	}
	if _, err := NewVerifier(p); err != nil {
		t.Fatal(err)
	}

	// Formatting, comments and paths do not change the hash; meaning does.
	copyFile(t, ci+"cosign.pub", filepath.Join(dir, "other/place.pub"))
	same, err := ParsePolicy([]byte(`# reformatted
signers: [{name: ci, keyless: {issuer: "https://token.actions.githubusercontent.com", subject_regexp: "https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*"}},
          {name: release-key, key: other/place.pub}]
trusted_root: {file: trusted_root.json}`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash() != same.Hash() {
		t.Fatal("hash changed with formatting")
	}
	copyFile(t, ci+"cosign2.pub", filepath.Join(dir, "other/place.pub"))
	otherKey, err := ParsePolicy([]byte(`signers: [{name: ci, keyless: {issuer: "https://token.actions.githubusercontent.com", subject_regexp: "https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*"}},
          {name: release-key, key: other/place.pub}]
trusted_root: {file: trusted_root.json}`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash() == otherKey.Hash() {
		t.Fatal("hash ignores the key bytes")
	}
	copyFile(t, "testdata/cosign/pkg_cosign_testdata_trusted_root_pgi.json", filepath.Join(dir, "trusted_root.json"))
	otherRoot, err := LoadPolicy(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash() == otherRoot.Hash() {
		t.Fatal("hash ignores the trusted root")
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, ci+"cosign.pub", filepath.Join(dir, "k.pub"))
	copyFile(t, publicGoodRoot, filepath.Join(dir, "tr.json"))
	xk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xder, err := x509.MarshalPKIXPublicKey(xk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x25519.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: xder}), 0o600); err != nil {
		t.Fatal(err)
	}
	gh := "https://token.actions.githubusercontent.com"
	tests := []struct{ name, yaml, want string }{
		{"keyless without issuer", `signers: [{name: ci, keyless: {subject: x}}]
trusted_root: {file: tr.json}`, "issuer is required"},
		{"keyless without subject", `signers: [{name: ci, keyless: {issuer: ` + gh + `}}]
trusted_root: {file: tr.json}`, "subject or subject_regexp is required"},
		{"keyless with both subjects", `signers: [{name: ci, keyless: {issuer: ` + gh + `, subject: a, subject_regexp: b}}]
trusted_root: {file: tr.json}`, "not both"},
		{"bad regexp", `signers: [{name: ci, keyless: {issuer: ` + gh + `, subject_regexp: "(" }}]
trusted_root: {file: tr.json}`, "subject_regexp"},
		{"duplicate names", `signers: [{name: a, key: k.pub}, {name: a, key: k.pub}]`, "duplicate signer name"},
		{"no name", `signers: [{key: k.pub}]`, "name is required"},
		{"key and keyless", `signers: [{name: a, key: k.pub, keyless: {issuer: ` + gh + `, subject: x}}]
trusted_root: {file: tr.json}`, "either keyless or key"},
		{"neither", `signers: [{name: a}]`, "set keyless"},
		{"unknown key type", `signers: [{name: a, key: x25519.pub}]`, "unsupported key type"},
		{"missing key file", `signers: [{name: a, key: nope.pub}]`, "no such file"},
		{"unknown field", `signers: [{name: a, key: k.pub, subjet: x}]`, "field subjet not found"},
		{"keyless without trusted root", `signers: [{name: ci, keyless: {issuer: ` + gh + `, subject: x}}]`, "trusted_root is required"},
		{"require_tlog without trusted root", `signers: [{name: a, key: k.pub, require_tlog: true}]`, "trusted_root is required"},
		{"no signers", `signers: []`, "at least one signer"},
		{"file and tuf", `signers: [{name: a, key: k.pub}]
trusted_root: {file: tr.json, tuf: {cache_dir: c}}`, "not both"},
		{"tuf without cache", `signers: [{name: a, key: k.pub}]
trusted_root: {tuf: {mirror_url: "https://tuf.example"}}`, "cache_dir is required"},
		{"tuf cache empty", `signers: [{name: a, key: k.pub}]
trusted_root: {tuf: {cache_dir: empty}}`, "no cached trusted root"},
		{"broken trusted root", `signers: [{name: a, key: k.pub}]
trusted_root: {file: k.pub}`, "trusted_root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.yaml), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// The public-good trusted root is read from the TUF cache, offline. The
// cache is seeded the way an air-gapped site would: the corpus copy of the
// public-good trusted root placed where sigstore-go's TUF client keeps its
// trusted_root.json target. No network is involved.
func TestTUFCacheOffline(t *testing.T) {
	cache := t.TempDir()
	src := TUFSource{CacheDir: cache}
	if want := filepath.Join(cache, "tuf-repo-cdn.sigstore.dev", "targets", "trusted_root.json"); TUFCachedTrustedRootPath(src) != want {
		t.Fatalf("cache path %s, want %s", TUFCachedTrustedRootPath(src), want)
	}
	policy := `signers: [{name: mitr, keyless: {issuer: "https://github.com/login/oauth", subject: mitr@redhat.com}}]
trusted_root: {tuf: {cache_dir: ` + cache + `}}`
	if _, err := ParsePolicy([]byte(policy), "."); err == nil || !strings.Contains(err.Error(), "refresh it online once") {
		t.Fatalf("empty cache: %v", err)
	}
	copyFile(t, publicGoodRoot, TUFCachedTrustedRootPath(src))
	p, err := ParsePolicy([]byte(policy), ".")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(p)
	if err != nil {
		t.Fatal(err)
	}
	payload, ann := dirSignature(t, ci+"dir-img-cosign-fulcio-rekor-valid_signature-1")
	r := v.VerifyCosign(context.Background(), payload, ann, manifestDigest(t, ci+"dir-img-cosign-fulcio-rekor-valid_manifest.json"))
	if r.Status != StatusSigned {
		t.Fatalf("%+v", r)
	}
}

func TestSummarize(t *testing.T) {
	signed := Result{Status: StatusSigned, Signer: "ci", Digest: imageA}
	untrusted := Result{Status: StatusUntrusted, Digest: imageA, Reason: "who?"}
	bad := Result{Status: StatusInvalid, Digest: imageA, Reason: "broken"}
	nota := NotationResult(imageA)
	for _, tc := range []struct {
		name string
		in   []Result
		want Status
	}{
		{"none", nil, StatusUnsigned},
		{"signed wins over garbage", []Result{bad, untrusted, signed}, StatusSigned},
		{"untrusted over invalid", []Result{bad, untrusted}, StatusUntrusted},
		{"only notation", []Result{nota, nota}, StatusNotation},
		{"notation and invalid", []Result{nota, bad}, StatusInvalid},
		{"invalid", []Result{bad}, StatusInvalid},
		{"signed next to notation", []Result{nota, signed}, StatusSigned},
	} {
		if got := Summarize(tc.in); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if s := Explain([]Result{bad, signed}); len(s.Evidence) != 1 || s.Evidence[0].Signer != "ci" || s.Reasons[0] != "broken" {
		t.Fatalf("%+v", s)
	}
	const index = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	idx := []Result{{Status: StatusSigned, Signer: "ci", Digest: index}, {Status: StatusInvalid, Digest: index}, {Status: StatusSigned, Digest: imageB}}
	got := CoversChild(index, imageA, idx)
	if len(got) != 1 || got[0].Digest != imageA || got[0].CoveredVia != index || Summarize(got) != StatusSigned {
		t.Fatalf("%+v", got)
	}
	if !DetectNotation("application/vnd.cncf.notary.signature") || DetectNotation("application/jose+json") || DetectNotation(SimpleSigningMediaType) {
		t.Fatal("DetectNotation")
	}
}
