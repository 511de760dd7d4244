package signature

import (
	"context"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the parsers and to the full
// verification path: nothing may panic, and nothing made up may verify.

func FuzzParseBundle(f *testing.F) {
	for _, p := range []string{
		"testdata/conformance/bundle-verify/happy-path-v0.1/bundle.sigstore.json",
		"testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
		"testdata/conformance/bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
		"testdata/conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json",
		"testdata/conformance/bundle-verify/bundle-malformed-json_fail/bundle.sigstore.json",
		"testdata/cosign/pkg_cosign_testdata_oci-attestation.sigstore.json",
	} {
		f.Add(readFile(f, p))
	}
	v := mustVerifier(f, publicGoodRoot, keylessSigner("c", conformanceIssuer, conformanceIdentity))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = ParseBundle(raw)
		if r := v.VerifyBundle(ctx, raw, imageA); r.Status == StatusSigned {
			t.Fatalf("fuzzed bundle signed: %+v", r)
		}
		if a := v.VerifyAttestation(ctx, raw, imageA); a.Status == StatusSigned {
			t.Fatalf("fuzzed attestation signed: %+v", a.Result)
		}
	})
}

func FuzzParsePayload(f *testing.F) {
	for _, p := range []string{"dir-img-cosign-valid_signature-1", "dir-img-cosign-valid-with-tag_signature-1", "dir-img-cosign-other-attachment_signature-1", "dir-img-cosign-fulcio-rekor-valid_signature-1"} {
		payload, ann := dirSignature(f, ci+p)
		f.Add(payload, ann[AnnotationSignature], ann[AnnotationCertificate], ann[AnnotationBundle])
	}
	v := mustVerifier(f, publicGoodRoot, keySigner("k", ci+"cosign.pub"), keylessSigner("m", "https://github.com/login/oauth", "mitr@redhat.com"))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload []byte, sig, cert, set string) {
		ss, err := ParsePayload(payload)
		digest := imageA
		if err == nil {
			digest = ss.Critical.Image.DockerManifestDigest
		}
		ann := map[string]string{AnnotationSignature: sig, AnnotationCertificate: cert, AnnotationBundle: set}
		r := v.VerifyCosign(ctx, payload, ann, digest)
		if r.Status == StatusSigned && err != nil {
			t.Fatalf("payload rejected by the parser but signed: %+v", r)
		}
		if r.Status != StatusSigned && r.Reason == "" {
			t.Fatalf("%s without a reason", r.Status)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	// Small seeds: the grype SBOM attestations (80 KiB) make the mutator
	// crawl; the regression tests cover them.
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AAAA"}]}`))
	s, keyPath := genKey(f, "ecdsa-p256")
	const small = "sha256:6af1b11bbb17f4c311e269db6530e4da2738262af5fd9064ccdf109b765860fb"
	f.Add(dsseEnvelope(f, s, small, "https://slsa.dev/provenance/v1", provenanceV1))
	f.Add(dsseEnvelope(f, s, small, "https://slsa.dev/provenance/v0.2", provenanceV02))
	v := mustVerifier(f, "", keySigner("anchore", grype+"cosign.pub"), keySigner("gen", keyPath))
	ctx := context.Background()
	const digest = "sha256:6af1b11bbb17f4c311e269db6530e4da2738262af5fd9064ccdf109b765860fb"
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := ParseEnvelope(raw)
		if err == nil {
			_, _ = parseStatement(env.PayloadType, env.DecodedPayload())
		}
		a := v.VerifyAttestation(ctx, raw, digest)
		if a.Status == StatusSigned && err != nil {
			t.Fatalf("envelope rejected by the parser but signed")
		}
		if a.Status != StatusSigned && a.Predicate != nil {
			t.Fatal("predicate exposed without a valid signature")
		}
	})
}
