package signature

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// dirSignature reads a containers/image "dir" transport signature file:
// "\x00sigstore-json\n" then {mimeType, payload (base64), annotations}.
func dirSignature(t testing.TB, path string) (payload []byte, annotations map[string]string) {
	t.Helper()
	raw := readFile(t, path)
	body, ok := bytes.CutPrefix(raw, []byte("\x00sigstore-json\n"))
	if !ok {
		t.Fatalf("%s: not a sigstore-json signature file", path)
	}
	var s struct {
		Payload     string            `json:"payload"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(s.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p, s.Annotations
}

// manifestDigest is the digest of a manifest file: what a registry serves.
func manifestDigest(t testing.TB, path string) string {
	sum := sha256.Sum256(readFile(t, path))
	return "sha256:" + hex.EncodeToString(sum[:])
}

const ci = "testdata/containers-image/"

func TestCosignContainersImageFixtures(t *testing.T) {
	ctx := context.Background()
	validDigest := manifestDigest(t, ci+"dir-img-cosign-valid_manifest.json")
	rekorDigest := manifestDigest(t, ci+"dir-img-cosign-key-rekor-valid_manifest.json")
	pkiDigest := manifestDigest(t, ci+"dir-img-cosign-pki-valid_manifest.json")
	modifiedDigest := manifestDigest(t, ci+"dir-img-cosign-modified-manifest_manifest.json")

	keyOnly := mustVerifier(t, "", keySigner("release", ci+"cosign.pub"))
	keyWithRoot := mustVerifier(t, publicGoodRoot, keySigner("release", ci+"cosign.pub"))
	key2Only := mustVerifier(t, "", keySigner("release2", ci+"cosign2.pub"))
	// The key+Rekor fixture is signed with cosign2.pub.
	key2WithRoot := mustVerifier(t, publicGoodRoot, keySigner("release", ci+"cosign.pub"), keySigner("release2", ci+"cosign2.pub"))
	key2RequireTlog := mustVerifier(t, publicGoodRoot, map[string]any{"name": "release2", "key": ci + "cosign2.pub", "require_tlog": true})
	mitr := mustVerifier(t, publicGoodRoot, keylessSigner("mitr", "https://github.com/login/oauth", "mitr@redhat.com"))
	someoneElse := mustVerifier(t, publicGoodRoot, keylessSigner("other", "https://github.com/login/oauth", "someone@redhat.com"))

	tests := []struct {
		name, sig, digest string
		v                 *Verifier
		want              Status
		signer, reason    string
		wantLog           bool
	}{
		{"key", "dir-img-cosign-valid_signature-1", validDigest, keyOnly, StatusSigned, "release", "", false},
		{"key, trusted root, no log entry", "dir-img-cosign-valid_signature-1", validDigest, keyWithRoot, StatusSigned, "release", "", false},
		{"key with tag in payload", "dir-img-cosign-valid-with-tag_signature-1", validDigest, keyOnly, StatusSigned, "release", "", false},
		{"second signature, same key", "dir-img-cosign-valid-2_signature-2", validDigest, keyOnly, StatusSigned, "release", "", false},
		{"key not in policy", "dir-img-cosign-valid-2_signature-2", validDigest, key2Only, StatusInvalid, "", "no key of the trust policy verifies", false},
		{"key + Rekor SET", "dir-img-cosign-key-rekor-valid_signature-1", rekorDigest, key2WithRoot, StatusSigned, "release2", "", true},
		{"key + Rekor SET, other key only", "dir-img-cosign-key-rekor-valid_signature-1", rekorDigest, keyWithRoot, StatusInvalid, "", "transparency log certificate does not match", false},
		{"key + Rekor SET, require_tlog", "dir-img-cosign-key-rekor-valid_signature-1", rekorDigest, key2RequireTlog, StatusSigned, "release2", "", true},
		{"key without log, require_tlog", "dir-img-cosign-valid-2_signature-2", validDigest, key2RequireTlog, StatusInvalid, "", "requires one", false},
		{"Fulcio + Rekor", "dir-img-cosign-fulcio-rekor-valid_signature-1", rekorDigest, mitr, StatusSigned, "mitr", "", true},
		{"Fulcio + Rekor, identity not in policy", "dir-img-cosign-fulcio-rekor-valid_signature-1", rekorDigest, someoneElse, StatusUntrusted, "", "matches no keyless signer", true},
		{"Fulcio cert, key-only policy", "dir-img-cosign-fulcio-rekor-valid_signature-1", rekorDigest, keyOnly, StatusInvalid, "", "no trusted root", false},
		{"private PKI cert under public-good root", "dir-img-cosign-pki-valid_signature-1", pkiDigest, mitr, StatusInvalid, "", "log", false},
		{"modified manifest", "dir-img-cosign-valid_signature-1", modifiedDigest, keyOnly, StatusInvalid, "", "signature is for " + validDigest + ", not " + modifiedDigest, false},
		{"other attachment", "dir-img-cosign-other-attachment_signature-1", validDigest, keyOnly, StatusInvalid, "", "not a cosign simple-signing document", false},
		{"unknown key", "unknown-cosign-key.signature", validDigest, keyOnly, StatusInvalid, "", "no key of the trust policy verifies", false},
		{"key signature, keyless-only policy", "dir-img-cosign-valid_signature-1", validDigest, mitr, StatusInvalid, "", "no key signers", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, ann := dirSignature(t, ci+tc.sig)
			r := tc.v.VerifyCosign(ctx, payload, ann, tc.digest)
			if r.Status != tc.want || r.Signer != tc.signer || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %s signer=%q reason=%q; want %s signer=%q reason containing %q", r.Status, r.Signer, r.Reason, tc.want, tc.signer, tc.reason)
			}
			if tc.wantLog != (r.LogIndex >= 0) || tc.wantLog == r.IntegratedTime.IsZero() {
				t.Fatalf("log index %d, integrated time %v; want log entry: %v", r.LogIndex, r.IntegratedTime, tc.wantLog)
			}
			if r.Status == StatusSigned && r.KeyID == "" {
				t.Fatal("signed without a key id")
			}
			if tc.want == StatusSigned || tc.want == StatusUntrusted {
				if r.Reason != "" && tc.want == StatusSigned {
					t.Fatalf("signed with a reason: %q", r.Reason)
				}
			}
			t.Logf("%s signer=%s issuer=%s subject=%s key=%s log=%d time=%v reason=%s", r.Status, r.Signer, r.Issuer, r.Subject, r.KeyID, r.LogIndex, r.IntegratedTime, r.Reason)
		})
	}
}

// A SET is checked, not just carried: changing any field breaks it.
func TestCosignTamperedSET(t *testing.T) {
	payload, ann := dirSignature(t, ci+"dir-img-cosign-key-rekor-valid_signature-1")
	digest := manifestDigest(t, ci+"dir-img-cosign-key-rekor-valid_manifest.json")
	v := mustVerifier(t, publicGoodRoot, keySigner("release", ci+"cosign2.pub"))
	if r := v.VerifyCosign(context.Background(), payload, ann, digest); r.Status != StatusSigned {
		t.Fatalf("untampered: %+v", r)
	}
	var set map[string]any
	if err := json.Unmarshal([]byte(ann[AnnotationBundle]), &set); err != nil {
		t.Fatal(err)
	}
	pl := set["Payload"].(map[string]any)
	pl["integratedTime"] = pl["integratedTime"].(float64) + 1
	b, _ := json.Marshal(set)
	ann2 := map[string]string{}
	for k, v := range ann {
		ann2[k] = v
	}
	ann2[AnnotationBundle] = string(b)
	r := v.VerifyCosign(context.Background(), payload, ann2, digest)
	if r.Status != StatusInvalid {
		t.Fatalf("tampered SET accepted: %+v", r)
	}
	t.Log(r.Reason)

	// A SET for another signature (the Fulcio one) does not vouch for this one.
	_, fann := dirSignature(t, ci+"dir-img-cosign-fulcio-rekor-valid_signature-1")
	ann2[AnnotationBundle] = fann[AnnotationBundle]
	if r := v.VerifyCosign(context.Background(), payload, ann2, digest); r.Status != StatusInvalid {
		t.Fatalf("foreign SET accepted: %+v", r)
	}
}

// The private PKI fixture chains to its own CA. A trusted root holding that
// CA (and no log or timestamp authority, so the long-lived certificate is
// checked at the current time) validates the signature; its certificate has
// no OIDC issuer, so no keyless signer can name it: untrusted, not signed.
func TestCosignPrivatePKI(t *testing.T) {
	roots, err := parseCertsPEM(string(readFile(t, ci+"pki_root_crts.pem")))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := parseCertsPEM(string(readFile(t, ci+"pki_intermediate_crts.pem")))
	if err != nil {
		t.Fatal(err)
	}
	ca := &root.FulcioCertificateAuthority{Root: roots[0], Intermediates: inter, URI: "https://pki.example"}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{ca}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, js, 0o600); err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, path, keylessSigner("team-a", "https://github.com/login/oauth", "qiwan@redhat.com"))
	payload, ann := dirSignature(t, ci+"dir-img-cosign-pki-valid_signature-1")
	r := v.VerifyCosign(context.Background(), payload, ann, manifestDigest(t, ci+"dir-img-cosign-pki-valid_manifest.json"))
	if r.Status != StatusUntrusted || r.Subject != "qiwan@redhat.com" {
		t.Fatalf("got %+v", r)
	}
	t.Log(r.Reason)
}

const grype = "testdata/grype/"

func TestGrypeAttestations(t *testing.T) {
	ctx := context.Background()
	const syftDigest = "sha256:6af1b11bbb17f4c311e269db6530e4da2738262af5fd9064ccdf109b765860fb"
	const cdxDigest = "sha256:4edbd2beb5f78b1014028f4fbb99f3237d9561100b6881aabbf5acce2c4f9454"
	right := mustVerifier(t, "", keySigner("anchore", grype+"cosign.pub"))
	wrong := mustVerifier(t, "", keySigner("other", grype+"another_cosign.pub"))
	tests := []struct {
		name, file, digest string
		v                  *Verifier
		want               Status
		kind               PredicateKind
		reason             string
	}{
		{"syft, right key", "alpine.att.json", syftDigest, right, StatusSigned, KindSBOM, ""},
		{"cyclonedx, right key", "alpine.cdx.att.json", cdxDigest, right, StatusSigned, KindSBOM, ""},
		{"syft, wrong key", "alpine.att.json", syftDigest, wrong, StatusInvalid, KindSBOM, "no key of the trust policy verifies"},
		{"syft tampered, right key", "alpine-tampered.att.json", syftDigest, right, StatusInvalid, KindSBOM, "no key of the trust policy verifies"},
		// The tampering broke the JSON: rejected before any key is tried.
		{"cyclonedx tampered, right key", "alpine-tampered.cdx.att.json", cdxDigest, right, StatusInvalid, "", "not an in-toto statement"},
		{"syft, other image digest", "alpine.att.json", cdxDigest, right, StatusInvalid, KindSBOM, "signature is for " + syftDigest + ", not " + cdxDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.v.VerifyAttestation(ctx, readFile(t, grype+tc.file), tc.digest)
			if a.Status != tc.want || a.Kind != tc.kind || !strings.Contains(a.Reason, tc.reason) {
				t.Fatalf("got %s kind=%s reason=%q", a.Status, a.Kind, a.Reason)
			}
			if (a.Status == StatusSigned) != (a.Predicate != nil) {
				t.Fatalf("predicate exposed=%v for status %s", a.Predicate != nil, a.Status)
			}
		})
	}
	// The broken key file is a config error at load time, not a silent pass.
	if _, err := buildVerifier("", keySigner("broken", grype+"cosign_broken.pub")); err == nil {
		t.Fatal("broken key accepted")
	} else {
		t.Log(err)
	}
}

func TestBundleAttestationsAndProvenance(t *testing.T) {
	ctx := context.Background()
	sjs := "testdata/sigstore-go/bundles_sigstore.js@2.0.0-provenance.sigstore.json"
	// The subjects of npm provenance are sha512 tarball digests, not image
	// digests: as an image attestation it names no sha256 digest.
	v := mustVerifier(t, publicGoodRoot, keylessRegexpSigner("sigstore-js", "https://token.actions.githubusercontent.com", `https://github\.com/sigstore/sigstore-js/\.github/workflows/release\.yml@refs/heads/main`))
	a := v.VerifyAttestation(ctx, readFile(t, sjs), "sha256:"+strings.Repeat("0", 64))
	if a.Status != StatusInvalid || !strings.Contains(a.Reason, "no sha256 digest") {
		t.Fatalf("got %+v", a.Result)
	}

	// cosign's OCI attestation bundle, against its own trusted root.
	cosignRoot := "testdata/cosign/pkg_cosign_testdata_trusted_root_pgi.json"
	const imgDigest = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
	cv := mustVerifier(t, cosignRoot, keylessSigner("cody", "https://github.com/login/oauth", "cody@soyland.com"))
	a = cv.VerifyAttestation(ctx, readFile(t, "testdata/cosign/pkg_cosign_testdata_oci-attestation.sigstore.json"), imgDigest)
	if a.Status != StatusSigned || a.Signer != "cody" || a.Kind != KindOther || a.LogIndex < 0 {
		t.Fatalf("got %+v", a.Result)
	}
	t.Logf("%s %s %s log=%d at %v", a.Status, a.Subject, a.PredicateType, a.LogIndex, a.IntegratedTime)
	// The same bundle as an image signature: its DSSE subject names the digest.
	r := cv.VerifyBundle(ctx, readFile(t, "testdata/cosign/pkg_cosign_testdata_oci-attestation.sigstore.json"), imgDigest)
	if r.Status != StatusSigned || r.PredicateType == "" {
		t.Fatalf("got %+v", r)
	}
	// For another digest it is invalid, whatever tag it hangs under.
	other := "sha256:" + strings.Repeat("ab", 32)
	r = cv.VerifyBundle(ctx, readFile(t, "testdata/cosign/pkg_cosign_testdata_oci-attestation.sigstore.json"), other)
	if r.Status != StatusInvalid || r.Reason != "signature is for "+imgDigest+", not "+other {
		t.Fatalf("got %+v", r)
	}
}

func TestParseProvenanceSLSA(t *testing.T) {
	// v0.2: sigstore-go's example npm provenance bundle.
	var b struct {
		DsseEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	for _, tc := range []struct {
		file, version, builder, repo, commit string
	}{
		{"testdata/sigstore-go/examples_bundle-provenance.json", "v0.2", "https://github.com/actions/runner", "https://github.com/sigstore/sigstore-js", ""},
		{"testdata/sigstore-go/bundles_sigstore.js@2.0.0-provenance.sigstore.json", "v1", "https://github.com/actions/runner/github-hosted", "https://github.com/sigstore/sigstore-js", ""},
	} {
		if err := json.Unmarshal(readFile(t, tc.file), &b); err != nil {
			t.Fatal(err)
		}
		payload, _ := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
		st, err := parseStatement(InTotoPayloadType, payload)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseProvenance(st.PredicateType, st.Predicate)
		if err != nil {
			t.Fatal(err)
		}
		if p.SLSAVersion != tc.version || p.BuilderID != tc.builder || p.SourceRepository != tc.repo || len(p.SourceCommit) != 40 || p.BuildType == "" {
			t.Fatalf("%s: %+v", tc.file, p)
		}
		t.Logf("%s: %+v", tc.file, *p)
	}
}
