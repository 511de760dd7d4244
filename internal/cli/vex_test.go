package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func TestVEXImport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	code, out, errOut := run(t, "vex", "import", "--db", db, "../../vex/testdata/tomcat-not-affected.openvex.json", "../../vex/testdata/cdx-cisa-case-1-not_affected.json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"tomcat-not-affected.openvex.json: openvex, 2 statements (2 not_affected)\n",
		"cdx-cisa-case-1-not_affected.json: cyclonedx, 0 statements, 1 skipped (no package purl to match)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if gen := vexGeneration(t, db); gen != 2 {
		t.Errorf("VEX generation %d after two documents", gen)
	}
}

func TestVEXImportBadFileChangesNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"statements":[{"vulnerability":{"name":"CVE-2020-1938"},"products":[{"@id":"pkg:maven/a/b@1"}],"status":"fine"}]}`), 0o644)
	for _, c := range []struct{ file, want string }{
		{bad, `bad.json: OpenVEX statement 1 (CVE-2020-1938): status "fine"`},
		{"../../vex/testdata/rhsa-csaf.json", "CSAF documents are not supported"},
		{filepath.Join(dir, "missing.json"), "missing.json"},
	} {
		code, _, errOut := run(t, "vex", "import", "--db", db, "../../vex/testdata/tomcat-not-affected.openvex.json", c.file)
		if code != ExitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.file, code, errOut, ExitError, c.want)
		}
	}
	if _, err := os.Stat(db); err == nil {
		if gen := vexGeneration(t, db); gen != 0 {
			t.Errorf("a rejected import changed the store (VEX generation %d)", gen)
		}
	}
}

func vexGeneration(t *testing.T, db string) int64 {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gen, err := st.VEXGeneration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return gen
}
