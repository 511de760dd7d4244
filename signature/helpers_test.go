package signature

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

const publicGoodRoot = "testdata/sigstore-go/trusted-roots_public-good.json"

// sgn builds one signers: entry for policyYAML.
func keylessSigner(name, issuer, subject string) map[string]any {
	return map[string]any{"name": name, "keyless": map[string]any{"issuer": issuer, "subject": subject}}
}

func keylessRegexpSigner(name, issuer, re string) map[string]any {
	return map[string]any{"name": name, "keyless": map[string]any{"issuer": issuer, "subject_regexp": re}}
}

func keySigner(name, path string) map[string]any {
	return map[string]any{"name": name, "key": path}
}

// mustVerifier builds a verifier from signers and a trusted root file ("" for
// none), going through the YAML loader like a user's policy would.
func mustVerifier(t testing.TB, trustedRoot string, signers ...map[string]any) *Verifier {
	t.Helper()
	v, err := buildVerifier(trustedRoot, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func buildVerifier(trustedRoot string, signers ...map[string]any) (*Verifier, error) {
	doc := map[string]any{"signers": signers}
	if trustedRoot != "" {
		abs, err := filepath.Abs(trustedRoot)
		if err != nil {
			return nil, err
		}
		doc["trusted_root"] = map[string]any{"file": abs}
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	p, err := ParsePolicy(data, wd)
	if err != nil {
		return nil, err
	}
	return NewVerifier(p)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFileAll(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func mustYAML(t testing.TB, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
