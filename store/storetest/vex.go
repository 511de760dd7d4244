package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vex"
)

// VEX is the VEX surface of a backend.
type VEX interface {
	Backend
	ImportVEX(ctx context.Context, in store.VEXImport) (store.VEXResult, error)
	VEXStates(ctx context.Context, fs []store.Finding) (map[int]string, error)
	VEXGeneration(ctx context.Context) (int64, error)
}

// RunVEX runs the VEX suite; open must return a new, empty store.
func RunVEX(t *testing.T, open func(t *testing.T) VEX) {
	t.Run("StatementsApplyToFindings", func(t *testing.T) { testVEXStates(t, open(t)) })
	t.Run("ImportIsAtomic", func(t *testing.T) { testVEXAtomic(t, open(t)) })
}

// vexWorld stores two images holding golang.org/x/net v0.7.0, affected by
// GO-2023-1 (alias CVE-2023-1), and returns their findings by image digest.
func vexWorld(t *testing.T, s VEX) (d1, d2 string) {
	ctx := context.Background()
	d1, d2 = "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("1"), Source: "1.json", Image: "registry.example/a@" + d1, At: t0}))
	must(s.IngestSBOM(ctx, store.IngestInput{Document: debDoc(), Raw: []byte("2"), Source: "2.json", Image: "registry.example/b@" + d2, At: t0}))
	reconcileFeed(t, s, t0, rangeAdv("GO-2023-1", "Go", "golang.org/x/net", "0.8.0", "CVE-2023-1"))
	return d1, d2
}

// states returns the VEX state of each image's finding ("" when none).
func states(t *testing.T, s VEX) map[string]string {
	ctx := context.Background()
	fs := must(s.Findings(ctx, store.FindingFilter{}))
	if len(fs) != 2 {
		t.Fatalf("findings: %+v", fs)
	}
	st := must(s.VEXStates(ctx, fs))
	out := map[string]string{}
	for i, f := range fs {
		out[f.Image[strings.Index(f.Image, "@")+1:]] = st[i]
	}
	return out
}

func statement(vuln, purl, digest, status string, at time.Time, aliases ...string) vex.Statement {
	key, err := vex.ProductKey(purl)
	if err != nil {
		panic(err)
	}
	return vex.Statement{Vulnerability: vuln, Aliases: aliases, PURL: purl, ProductKey: key, ImageDigest: digest, Status: status, At: at}
}

func testVEXStates(t *testing.T, s VEX) {
	ctx := context.Background()
	d1, d2 := vexWorld(t, s)
	if got := states(t, s); got[d1] != "" || got[d2] != "" {
		t.Fatalf("states before any VEX: %v", got)
	}
	// Named by the alias, the purl with a qualifier: matches on
	// type/namespace/name@version.
	r := must(s.ImportVEX(ctx, store.VEXImport{Source: "a.json", At: t0, Statements: []vex.Statement{
		statement("CVE-2023-1", "pkg:golang/golang.org/x/net@v0.7.0?type=module", "", vex.NotAffected, t0),
		statement("CVE-2023-1", "pkg:golang/golang.org/x/net@v0.8.0", "", vex.Affected, t0.Add(time.Hour)), // another version
		statement("GO-2023-9", "pkg:golang/golang.org/x/net@v0.7.0", "", vex.Affected, t0.Add(time.Hour)),  // another vulnerability
	}}))
	if r.Statements != 3 {
		t.Fatalf("import: %+v", r)
	}
	if got := states(t, s); got[d1] != vex.NotAffected || got[d2] != vex.NotAffected {
		t.Fatalf("after not_affected: %v", got)
	}
	if g := must(s.VEXGeneration(ctx)); g != 1 {
		t.Fatalf("VEX generation %d after one import", g)
	}
	// A later affected statement scoped to the second image re-opens it there only.
	must(s.ImportVEX(ctx, store.VEXImport{Source: "b.json", At: t0, Statements: []vex.Statement{
		statement("GO-2023-1", "pkg:golang/golang.org/x/net@v0.7.0", d2, vex.Affected, t0.Add(2*time.Hour)),
	}}))
	if got := states(t, s); got[d1] != vex.NotAffected || got[d2] != vex.Affected {
		t.Fatalf("after a scoped affected: %v", got)
	}
	// The latest statement wins by its time, not by when it was imported.
	must(s.ImportVEX(ctx, store.VEXImport{Source: "c.json", At: t0, Statements: []vex.Statement{
		statement("GO-2023-1", "pkg:golang/golang.org/x/net@v0.7.0", d2, vex.NotAffected, t0.Add(time.Minute)),
	}}))
	if got := states(t, s); got[d2] != vex.Affected {
		t.Fatalf("an older statement imported later won: %v", got)
	}
	if g := must(s.VEXGeneration(ctx)); g != 3 {
		t.Fatalf("VEX generation %d after three imports", g)
	}
}

func testVEXAtomic(t *testing.T, s VEX) {
	ctx := context.Background()
	d1, _ := vexWorld(t, s)
	bad := statement("CVE-2023-1", "pkg:golang/golang.org/x/net@v0.7.0", "", vex.NotAffected, t0)
	bad.Status = ""
	_, err := s.ImportVEX(ctx, store.VEXImport{Source: "bad.json", At: t0, Statements: []vex.Statement{
		statement("CVE-2023-1", "pkg:golang/golang.org/x/net@v0.7.0", "", vex.NotAffected, t0), bad,
	}})
	if err == nil {
		t.Fatal("a statement without a status was stored")
	}
	if got := states(t, s); got[d1] != "" {
		t.Fatalf("a failed import left statements: %v", got)
	}
	if g := must(s.VEXGeneration(ctx)); g != 0 {
		t.Fatalf("a failed import bumped the generation to %d", g)
	}
}
