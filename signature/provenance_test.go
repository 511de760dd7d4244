package signature

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func statementJSON(t *testing.T, subject, predicateType string, predicate any) []byte {
	t.Helper()
	p, _ := json.Marshal(predicate)
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"subject":       []map[string]any{{"name": "registry.example/app", "digest": map[string]string{"sha256": strings.TrimPrefix(subject, "sha256:")}}},
		"predicateType": predicateType,
		"predicate":     json.RawMessage(p),
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadProvenance(t *testing.T) {
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const base = "2222222222222222222222222222222222222222222222222222222222222222"
	pred := map[string]any{
		"builder":   map[string]any{"id": "https://github.com/docker/buildx"},
		"buildType": "https://mobyproject.org/buildkit@v1",
		"materials": []map[string]any{
			{"uri": "pkg:docker/node@20?platform=linux%2Famd64", "digest": map[string]string{"sha256": base}},
			{"uri": "https://github.com/acme/app.git", "digest": map[string]string{"sha1": "0123456789abcdef0123456789abcdef01234567"}},
		},
	}
	raw := statementJSON(t, img, "https://slsa.dev/provenance/v0.2", pred)
	env, _ := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(raw),
		"signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString([]byte("not checked"))}}})
	for name, body := range map[string][]byte{"bare statement": raw, "dsse envelope": env} {
		p, err := ReadProvenance(body, img)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bases := p.BaseImages()
		if len(bases) != 1 || bases[0].URI != "pkg:docker/node@20?platform=linux%2Famd64" || bases[0].Digest["sha256"] != base {
			t.Errorf("%s: base images = %+v", name, bases)
		}
	}
	// Another image's provenance is not this image's.
	if _, err := ReadProvenance(raw, "sha256:3333333333333333333333333333333333333333333333333333333333333333"); err == nil {
		t.Error("provenance for another subject accepted")
	}
	// An SBOM attestation is not provenance.
	sb := statementJSON(t, img, "https://spdx.dev/Document", map[string]any{"spdxVersion": "SPDX-2.3"})
	if _, err := ReadProvenance(sb, img); !errors.Is(err, ErrNotProvenance) {
		t.Errorf("sbom attestation: %v", err)
	}
	if _, err := ReadProvenance([]byte("{not json"), img); err == nil {
		t.Error("garbage accepted")
	}
}
