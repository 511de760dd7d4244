package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// signCosign attaches a cosign key signature in the .sig tag layout: a
// simple-signing payload naming signedDigest, under the tag of subject.
func signCosign(t *testing.T, key *ecdsa.PrivateKey, repo name.Repository, subject, signedDigest v1.Hash) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo.String(), signedDigest.String()))
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag(fmt.Sprintf("%s-%s.sig", subject.Algorithm, subject.Hex)), img); err != nil {
		t.Fatal(err)
	}
}

func pushRandom(t *testing.T, ref name.Reference) v1.Hash {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

func TestVerifyEndToEnd(t *testing.T) {
	srv := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "release.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	policy := filepath.Join(dir, "trust.yaml")
	os.WriteFile(policy, []byte("signers:\n  - name: release-key\n    key: release.pub\n  - name: other-key\n    key: release.pub\n"), 0o644)
	db := filepath.Join(dir, "s.db")

	repo, _ := name.NewRepository(host+"/acme/pause", name.Insecure)
	signed := pushRandom(t, repo.Tag("latest"))
	signCosign(t, key, repo, signed, signed)
	unsigned := pushRandom(t, repo.Tag("unsigned"))

	verify := func(ref string, extra ...string) (int, string, string) {
		return run(t, append([]string{"verify", "--db", db, "--trust-policy", policy, "--insecure", ref}, extra...)...)
	}
	if code, out, errOut := verify(repo.String() + ":latest"); code != ExitOK || !strings.Contains(out, "signed") || !strings.Contains(out, "release-key") {
		t.Fatalf("signed image: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := verify(repo.String()+"@"+signed.String(), "--format", "json"); code != ExitOK || !strings.Contains(out, `"status": "signed"`) {
		t.Fatalf("by digest: exit %d %s", code, out)
	}
	if code, out, _ := verify(repo.String() + ":unsigned"); code != ExitFail || !strings.Contains(out, "unsigned") {
		t.Fatalf("unsigned image: exit %d %s", code, out)
	}
	_ = unsigned
	// --signer restricts who counts: signed, but by another signer.
	if code, out, _ := verify(repo.String()+":latest", "--signer", "other-key"); code != ExitFail || !strings.Contains(out, "expected other-key") {
		t.Fatalf("--signer other-key: exit %d %s", code, out)
	}
	// C60: :latest is overwritten with an unsigned image; the old signature
	// (for the old digest) is still in the registry. The tag's digest is
	// what is verified: unsigned.
	moved := pushRandom(t, repo.Tag("latest"))
	if code, out, _ := verify(repo.String() + ":latest"); code != ExitFail || !strings.Contains(out, moved.String()) || !strings.Contains(out, "unsigned") {
		t.Fatalf("moved tag: exit %d %s", code, out)
	}
	// An attacker copies the old signature under the new digest's .sig
	// tag: it names the old digest, so it is invalid, never signed.
	signCosign(t, key, repo, moved, signed)
	if code, out, _ := verify(repo.String() + ":latest"); code != ExitFail || !strings.Contains(out, "invalid") {
		t.Fatalf("copied signature: exit %d %s", code, out)
	}
	// images shows the status under the policy.
	if code, out, _ := run(t, "images", "--db", db, "--trust-policy", policy); code != 0 || !strings.Contains(out, "signed") || !strings.Contains(out, "release-key") {
		t.Fatalf("images: %d %s", code, out)
	}
	// image show carries it too.
	if code, out, errOut := run(t, "image", "show", signed.String(), "--db", db, "--trust-policy", policy); code != 0 || !strings.Contains(out, "signed (signer release-key)") {
		t.Fatalf("image show: %d %s %s", code, out, errOut)
	}
	// A keyless signer without an identity is a load error.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("signers:\n  - name: ci\n    keyless:\n      issuer: https://token.actions.githubusercontent.com\n"), 0o644)
	if code, _, errOut := run(t, "verify", "--db", db, "--trust-policy", bad, "--insecure", repo.String()+":latest"); code != ExitError || !strings.Contains(errOut, "subject") {
		t.Fatalf("keyless signer without identity: exit %d %s", code, errOut)
	}
}

// Interoperability: an image signed by the real cosign CLI (installed by
// scripts/test.sh, which sets SAFEGUARD_TEST_COSIGN) verifies as signed, and
// the same signature does not count for a key outside the policy.
func TestVerifyCosignCLISignature(t *testing.T) {
	cosign := os.Getenv("SAFEGUARD_TEST_COSIGN")
	if cosign == "" {
		t.Skip("SAFEGUARD_TEST_COSIGN is not set (scripts/test.sh installs cosign v2.6.5 and sets it)")
	}
	srv := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	repo, _ := name.NewRepository(host+"/acme/tool", name.Insecure)
	d := pushRandom(t, repo.Tag("1.0"))
	env := append(os.Environ(), "COSIGN_PASSWORD=test", "COSIGN_YES=true", "COSIGN_EXPERIMENTAL=0")
	for _, args := range [][]string{
		{"generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")},
		{"sign", "--key", filepath.Join(dir, "cosign.key"), "--tlog-upload=false", "--allow-insecure-registry", "--yes", repo.String() + "@" + d.String()},
	} {
		cmd := exec.Command(cosign, args...)
		cmd.Env, cmd.Dir = env, dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", args[0], err, out)
		}
	}
	policy := filepath.Join(dir, "trust.yaml")
	os.WriteFile(policy, []byte("signers:\n  - name: release\n    key: cosign.pub\n"), 0o644)
	db := filepath.Join(dir, "s.db")
	if code, out, errOut := run(t, "verify", "--db", db, "--trust-policy", policy, "--insecure", repo.String()+":1.0"); code != ExitOK || !strings.Contains(out, "signed") {
		t.Fatalf("cosign-signed image: exit %d\n%s%s", code, out, errOut)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	os.WriteFile(filepath.Join(dir, "other.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	os.WriteFile(policy, []byte("signers:\n  - name: someone-else\n    key: other.pub\n"), 0o644)
	if code, out, _ := run(t, "verify", "--db", db, "--trust-policy", policy, "--insecure", repo.String()+":1.0"); code != ExitFail || strings.Contains(out, "status  signed") {
		t.Fatalf("cosign-signed image under another key: exit %d\n%s", code, out)
	}
}
