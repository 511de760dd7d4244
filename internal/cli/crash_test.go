package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// TestMain lets a test re-run this binary as the safeguard command, so a
// real process can be killed with SIGKILL in the middle of its work.
func TestMain(m *testing.M) {
	if args := os.Getenv("SAFEGUARD_TEST_RUN_CLI"); args != "" {
		os.Exit(Run(context.Background(), strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func cliProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SAFEGUARD_TEST_RUN_CLI="+strings.Join(args, "\x1f"))
	return cmd
}

// killAfter starts cmd and SIGKILLs it once cond holds (or it exits).
func killAfter(t *testing.T, cmd *exec.Cmd, cond func() bool) (killed bool) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-done:
			return false
		case <-time.After(2 * time.Millisecond):
			if cond() {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return true
			}
		}
	}
}

// A crawl killed midway leaves a store that opens, a tag history that is
// consistent (no tag points at an image that was not recorded), and the next
// crawl finishes the work.
func TestKillDuringCrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	var manifests atomic.Int64
	inner := ggcr.New()
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
			manifests.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(slow)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	const tags = 40
	for i := 0; i < tags; i++ {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(fmt.Sprintf("%s/acme/app:v%d", host, i), name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "r.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("registries:\n  - name: r\n    host: %s\n    insecure: true\n    repositories: [acme/app]\n", host)), 0o644)
	db := filepath.Join(dir, "s.db")
	manifests.Store(0)
	if !killAfter(t, cliProcess("registry", "crawl", "--config", cfg, "--db", db), func() bool { return manifests.Load() >= tags/3 }) {
		t.Fatal("crawl finished before it could be killed")
	}
	ctx := context.Background()
	check := func(wantTags int, exact bool) {
		st, err := sqlite.Open(ctx, db)
		if err != nil {
			t.Fatalf("store does not open after kill -9: %v", err)
		}
		defer st.Close()
		cur, err := st.CurrentTags(ctx, host+"/acme/app")
		if err != nil {
			t.Fatal(err)
		}
		for tag, d := range cur {
			if ok, err := st.HasImage(ctx, d); err != nil || !ok {
				t.Fatalf("tag %s points at %s, which was never recorded", tag, d)
			}
		}
		if (exact && len(cur) != wantTags) || (!exact && len(cur) >= wantTags) {
			t.Fatalf("%d tags recorded (want %v %d)", len(cur), map[bool]string{true: "=", false: "<"}[exact], wantTags)
		}
	}
	check(tags, false)
	if out, err := cliProcess("registry", "crawl", "--config", cfg, "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("crawl after the kill: %v\n%s", err, out)
	}
	check(tags, true)
}

// A feed import and its reconcile killed midway leave the store as before
// the import (one transaction each); running it again gives the same
// findings as an uninterrupted run.
func TestKillDuringImportAndReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	db, clean := filepath.Join(dir, "s.db"), filepath.Join(dir, "clean.db")
	for _, p := range []string{db, clean} {
		if code, _, errOut := run(t, "sbom", "ingest", "--db", p, kubectl, "../../data/sboms/keycloak-10.0.2-maven.cdx.json"); code != 0 {
			t.Fatal(errOut)
		}
	}
	if code, _, errOut := run(t, "feed", "import", "--db", clean, goDB, ghsa); code != 0 {
		t.Fatal(errOut)
	}
	// Kills land while the feeds are read, inside the import transaction,
	// and inside the reconcile that follows it.
	for _, delay := range []time.Duration{150 * time.Millisecond, 700 * time.Millisecond, 1100 * time.Millisecond, 1500 * time.Millisecond} {
		start := time.Now()
		if !killAfter(t, cliProcess("feed", "import", "--db", db, goDB, ghsa), func() bool { return time.Since(start) > delay }) {
			t.Logf("import finished before %v", delay)
		}
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			t.Fatalf("store does not open after kill -9 at %v: %v", delay, err)
		}
		st.Close()
	}
	if code, _, errOut := run(t, "feed", "import", "--db", db, goDB, ghsa); code != 0 {
		t.Fatal(errOut)
	}
	_, a, _ := run(t, "findings", "--db", db, "--format", "json")
	_, b, _ := run(t, "findings", "--db", clean, "--format", "json")
	strip := func(s string) string { // first_seen differs between the two runs
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"first_seen"`) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	if strip(a) != strip(b) || !strings.Contains(a, `"vulnerability"`) {
		t.Fatal("findings after an interrupted import differ from an uninterrupted one")
	}
}
