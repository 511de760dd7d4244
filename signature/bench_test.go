package signature

import (
	"context"
	"os"
	"testing"
)

// benchTUFVerifier loads a policy whose trusted root comes from a seeded TUF
// cache: the path a production verifier takes once the root is cached.
func benchTUFVerifier(b *testing.B, rootFile string, signer map[string]any) *Verifier {
	b.Helper()
	cache := b.TempDir()
	dst := TUFCachedTrustedRootPath(TUFSource{CacheDir: cache})
	if err := writeFileAll(dst, readFile(b, rootFile)); err != nil {
		b.Fatal(err)
	}
	signers := []map[string]any{signer}
	data := map[string]any{"signers": signers, "trusted_root": map[string]any{"tuf": map[string]any{"cache_dir": cache}}}
	wd, _ := os.Getwd()
	p, err := ParsePolicy(mustYAML(b, data), wd)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(p)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// One keyless image signature in a v0.3 bundle (cosign's OCI attestation
// fixture: Fulcio certificate, Rekor SET and inclusion proof, SCT), verified
// against the cached public-good trust material.
func BenchmarkVerifyKeyless(b *testing.B) {
	v := benchTUFVerifier(b, "testdata/cosign/pkg_cosign_testdata_trusted_root_pgi.json",
		keylessSigner("cody", "https://github.com/login/oauth", "cody@soyland.com"))
	raw := readFile(b, "testdata/cosign/pkg_cosign_testdata_oci-attestation.sigstore.json")
	const digest = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
	ctx := context.Background()
	if r := v.VerifyBundle(ctx, raw, digest); r.Status != StatusSigned {
		b.Fatalf("%+v", r)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := v.VerifyBundle(ctx, raw, digest); r.Status != StatusSigned {
			b.Fatal(r.Reason)
		}
	}
}

// The same for a cosign .sig layer (Fulcio certificate, chain, Rekor SET).
func BenchmarkVerifyKeylessCosignLayer(b *testing.B) {
	v := benchTUFVerifier(b, publicGoodRoot, keylessSigner("mitr", "https://github.com/login/oauth", "mitr@redhat.com"))
	payload, ann := dirSignature(b, ci+"dir-img-cosign-fulcio-rekor-valid_signature-1")
	digest := manifestDigest(b, ci+"dir-img-cosign-fulcio-rekor-valid_manifest.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := v.VerifyCosign(ctx, payload, ann, digest); r.Status != StatusSigned {
			b.Fatal(r.Reason)
		}
	}
}

func BenchmarkVerifyKey(b *testing.B) {
	ctx := context.Background()
	b.Run("ecdsa-no-log", func(b *testing.B) {
		v := mustVerifier(b, "", keySigner("k", ci+"cosign.pub"))
		payload, ann := dirSignature(b, ci+"dir-img-cosign-valid_signature-1")
		digest := manifestDigest(b, ci+"dir-img-cosign-valid_manifest.json")
		b.ReportAllocs()
		for b.Loop() {
			if r := v.VerifyCosign(ctx, payload, ann, digest); r.Status != StatusSigned {
				b.Fatal(r.Reason)
			}
		}
	})
	b.Run("ecdsa-rekor-set", func(b *testing.B) {
		v := benchTUFVerifier(b, publicGoodRoot, keySigner("k", ci+"cosign2.pub"))
		payload, ann := dirSignature(b, ci+"dir-img-cosign-key-rekor-valid_signature-1")
		digest := manifestDigest(b, ci+"dir-img-cosign-key-rekor-valid_manifest.json")
		b.ReportAllocs()
		for b.Loop() {
			if r := v.VerifyCosign(ctx, payload, ann, digest); r.Status != StatusSigned {
				b.Fatal(r.Reason)
			}
		}
	})
}
