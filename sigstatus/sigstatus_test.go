package sigstatus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("sha256:%x", sum)
}

// cosignLayer signs a simple-signing payload for digest the way `cosign
// sign --key` does (ECDSA P-256 over SHA-256, base64 annotation).
func cosignLayer(t testing.TB, key *ecdsa.PrivateKey, subject, signedDigest string) store.SignatureMaterial {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"registry.example.com/acme/app"},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, signedDigest))
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return store.SignatureMaterial{Subject: subject, Referrer: digestOf("ref" + subject + signedDigest), Kind: store.KindSignature,
		MediaType: signature.SimpleSigningMediaType, Annotations: map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)}, Body: payload}
}

func newChecker(t testing.TB) (*Checker, *sqlite.Store, *ecdsa.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "release.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	pol, err := signature.ParsePolicy([]byte("signers:\n  - name: release-key\n    key: release.pub\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.NewVerifier(pol)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Checker{Verifier: v, Store: st, Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}, st, key
}

func TestStatuses(t *testing.T) {
	ctx := context.Background()
	c, st, key := newChecker(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed, moved, unsigned, index, child, wrongKey := digestOf("signed"), digestOf("moved"), digestOf("unsigned"), digestOf("index"), digestOf("child"), digestOf("wrongkey")
	if err := st.RecordSignatureMaterial(ctx, []store.SignatureMaterial{
		cosignLayer(t, key, signed, signed),
		// C60: the old signature still sits under the tag's new digest's
		// name but names the old digest.
		cosignLayer(t, key, moved, signed),
		// C66: the index is signed; its platform manifest is not.
		cosignLayer(t, key, index, index),
		cosignLayer(t, other, wrongKey, wrongKey),
	}); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct {
		name, digest, index string
		want                signature.Status
	}{
		{"signed by the policy key", signed, "", signature.StatusSigned},
		{"signature for another digest (C60)", moved, "", signature.StatusInvalid},
		{"no signature", unsigned, "", signature.StatusUnsigned},
		{"child of a signed index (C66)", child, index, signature.StatusSigned},
		{"key outside the policy", wrongKey, "", signature.StatusInvalid},
	} {
		d, err := c.Status(ctx, c2.digest, c2.index)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != c2.want {
			t.Errorf("%s: status %s, want %s (%+v)", c2.name, d.Status, c2.want, d)
		}
		if c2.want == signature.StatusSigned && d.Signer != "release-key" {
			t.Errorf("%s: signer %q", c2.name, d.Signer)
		}
		if c2.want == signature.StatusInvalid && len(d.Reasons) == 0 {
			t.Errorf("%s: invalid without a reason", c2.name)
		}
		cached, err := st.SignatureStatus(ctx, c2.digest, c.Verifier.PolicyHash())
		if err != nil || cached.Status != string(c2.want) {
			t.Errorf("%s: cached %+v %v", c2.name, cached, err)
		}
	}
}

// An image signed after its status was cached is re-verified.
func TestNewMaterialInvalidatesCache(t *testing.T) {
	ctx := context.Background()
	c, st, key := newChecker(t)
	d := digestOf("later")
	if got, _ := c.Status(ctx, d, ""); got.Status != signature.StatusUnsigned {
		t.Fatalf("before signing: %s", got.Status)
	}
	if err := st.RecordSignatureMaterial(ctx, []store.SignatureMaterial{cosignLayer(t, key, d, d)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Status(ctx, d, ""); got.Status != signature.StatusSigned {
		t.Fatalf("after signing: %s (stale cache)", got.Status)
	}
}

// BenchmarkStatusLookupUnsigned is the store path: a verdict that can still
// change (unsigned) is read from the store each time.
func BenchmarkStatusLookupUnsigned(b *testing.B) {
	c, _, _ := newChecker(b)
	ctx := context.Background()
	d := digestOf("unsigned-bench")
	if _, err := c.Status(ctx, d, ""); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Status(ctx, d, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusLookup is the cost of asking for a known digest's status
// (cached under the current policy): what the policy gate pays per image.
func BenchmarkStatusLookup(b *testing.B) {
	c, st, key := newChecker(b)
	ctx := context.Background()
	d := digestOf("bench")
	if err := st.RecordSignatureMaterial(ctx, []store.SignatureMaterial{cosignLayer(b, key, d, d)}); err != nil {
		b.Fatal(err)
	}
	if got, err := c.Status(ctx, d, ""); err != nil || got.Status != signature.StatusSigned {
		b.Fatalf("%v %v", got.Status, err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Status(ctx, d, ""); err != nil {
			b.Fatal(err)
		}
	}
}
