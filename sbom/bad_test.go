package sbom

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	real, err := os.ReadFile("testdata/corpus/guac/alpine-cyclonedx.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		data    string
		unknown bool // errors.Is ErrUnknownFormat
		msg     string
	}{
		{"empty", "", true, "unknown SBOM format: empty input"},
		{"whitespace", " \n\t ", true, "empty input"},
		{"truncated cyclonedx", string(real[:1234]), false, "cyclonedx-json: invalid JSON at offset 1234: unexpected end of input"},
		{"truncated spdx", `{"spdxVersion":"SPDX-2.3","packages":[{"name":`, false, "spdx-json: invalid JSON at offset"},
		{"truncated unknown", `{"foo":`, false, "json: invalid JSON at offset 7: unexpected end of input"},
		{"bad token", `{"bomFormat":"CycloneDX","components":[}`, false, "cyclonedx-json: invalid JSON at offset"},
		{"invalid xml", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component>`, false, "cyclonedx-xml: invalid XML at line 1"},
		{"other xml", `<project><modelVersion>4.0.0</modelVersion></project>`, true, "XML root element <project> is not a CycloneDX <bom>"},
		{"unknown json", `{"hello":"world"}`, true, "unknown SBOM format: JSON object has none of bomFormat/spdxVersion/artifacts+schema/SchemaVersion+Results (keys: hello)"},
		{"json array", `[{"Name":"bash"}]`, true, "a JSON array (a bare package list?) is not an SBOM document"},
		{"binary", "\x00\x01\x02\xff\xfe\x89PNG", true, "binary data"},
		{"text", "hello world", true, "content is not JSON, XML or SPDX tag-value"},
		{"spdx 3", `{"spdxVersion":"SPDX-3.0","packages":[]}`, false, `spdx-json: unsupported spdxVersion "SPDX-3.0"`},
		{"syft artifacts string", `{"schema":{"version":"16.0.0"},"artifacts":"nope"}`, false, "syft-json: artifacts is a JSON string, want an array of packages"},
		{"bad dsse", `{"payloadType":"x","payload":"!!!"}`, false, "dsse envelope: payload is not base64"},
		{"deep wrap", strings.Repeat(`{"sbom":`, 10) + `{}` + strings.Repeat(`}`, 10), true, "nested more than"},
		{"cyclonedx components string", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":"x"}`, false, "cyclonedx-json: components: a JSON string where an array is expected"},
		{"spdx packages object", `{"spdxVersion":"SPDX-2.3","packages":{"a":1}}`, false, "spdx-json: packages: a JSON object where an array is expected"},
		{"trivy results string", `{"SchemaVersion":2,"Results":"x"}`, false, "trivy-json: Results: a JSON string where an array is expected"},
		{"bad tag-value", "SPDXVersion: SPDX-2.3\nPackageName\n", false, "spdx-tag-value:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Decode([]byte(c.data))
			if err == nil {
				t.Fatalf("decoded: %+v", d)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
			if errors.Is(err, ErrUnknownFormat) != c.unknown {
				t.Errorf("errors.Is(ErrUnknownFormat) = %v, want %v (%v)", !c.unknown, c.unknown, err)
			}
		})
	}
}

func TestDecodeFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no 200 MB are written.
	if err := f.Truncate(200 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = DecodeFile(path, DefaultMaxBytes)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "104857600") {
		t.Errorf("error %q does not name the limit", err)
	}
	// A small limit applies to small files too.
	small := filepath.Join(t.TempDir(), "small.json")
	if err := os.WriteFile(small, []byte(c41), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeFile(small, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 10: %v", err)
	}
	if _, err := DecodeFile(filepath.Join(t.TempDir(), "missing.json"), 0); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestErrNoPackagesIsForCallers(t *testing.T) {
	d := mustDecode(t, `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[]}`)
	if len(d.Packages) != 0 || d.Packages == nil {
		t.Errorf("packages %#v, want an empty non-nil list", d.Packages)
	}
	if !strings.Contains(ErrNoPackages.Error(), "no usable packages") {
		t.Error(ErrNoPackages)
	}
}
