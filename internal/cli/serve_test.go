package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/safeguard-dev/safeguard/data"
	"github.com/safeguard-dev/safeguard/demo"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func TestDemoOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errOut := run(t, "demo", "--once", "--db", db)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"crawled: 4 repositories, 5 images, 5 SBOMs", "1 moved", "in the CISA KEV catalog", "moved tag: "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "events", "--db", db, "--kind", "tag_moved", "--format", "json")
	if code != 0 || !strings.Contains(out, `"kind": "tag_moved"`) || !strings.Contains(out, "demo/kubectl") {
		t.Fatalf("events: %d %s", code, out)
	}
	code, out, _ = run(t, "images", "--db", db)
	if code != 0 || !strings.Contains(out, "demo/keycloak") {
		t.Fatalf("images: %d %s", code, out)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, body)
		}
	}
	return resp.StatusCode
}

// serve end to end: a registry, a feed mirror, the API; a push notification
// for an overwritten tag triggers a crawl that records the move.
func TestServeCrawlsAndReactsToPushNotifications(t *testing.T) {
	reg := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(true)))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sample := demo.Samples[0] // kubectl, Go modules
	if _, err := demo.Push(ctx, host, data.FS, []demo.Sample{sample}, fixedNow); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mirrorDir := filepath.Join(dir, "mirror")
	os.MkdirAll(mirrorDir, 0o755)
	b, _ := os.ReadFile(goDB)
	os.WriteFile(filepath.Join(mirrorDir, "go.tar.gz"), b, 0o644)
	b, _ = os.ReadFile(kevFile)
	os.WriteFile(filepath.Join(mirrorDir, "kev.json"), b, 0o644)
	cfgFile := filepath.Join(dir, "registries.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("registries:\n  - name: local\n    host: %s\n    insecure: true\n    repositories: [%s]\n    interval: 1h\n", host, sample.Repository)), 0o644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now, getenv: func(string) string { return "" }}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := mustConfig(t, cfgFile)
	done := make(chan error, 1)
	go func() {
		done <- e.serve(ctx, st, cfg, serveOptions{mirror: mirrorDir, noKEV: true, noEPSS: true, feedInterval: time.Hour, rematchInt: time.Hour}, ln, nil)
	}()
	waitFor(t, "ready", func() bool { return getJSON(t, base+"/readyz", nil) == 200 })
	var images struct {
		Images []map[string]any `json:"images"`
	}
	waitFor(t, "first crawl", func() bool { getJSON(t, base+"/api/v1/images", &images); return len(images.Images) == 1 })
	var findings struct {
		Findings []map[string]any `json:"findings"`
	}
	waitFor(t, "findings of the attached SBOM", func() bool {
		getJSON(t, base+"/api/v1/findings", &findings)
		return len(findings.Findings) > 0
	})
	// The scheduled crawl attributed the image's base (a demo image built
	// on nothing catalogued: one "none" link, which is an answer).
	var detail struct {
		Base struct {
			Attributed bool             `json:"attributed"`
			Chain      []map[string]any `json:"chain"`
		} `json:"base"`
	}
	waitFor(t, "base attribution after the crawl", func() bool {
		getJSON(t, base+"/api/v1/images/"+images.Images[0]["digest"].(string), &detail)
		return detail.Base.Attributed
	})
	if len(detail.Base.Chain) != 1 || detail.Base.Chain[0]["method"] != "none" {
		t.Errorf("demo image base chain = %v", detail.Base.Chain)
	}

	// Overwrite the tag, then tell Safeguard as the registry would.
	moved := sample
	moved.Seed = 42
	if _, err := demo.Push(ctx, host, data.FS, []demo.Sample{moved}, fixedNow); err != nil {
		t.Fatal(err)
	}
	note := fmt.Sprintf(`{"events":[{"action":"push","target":{"repository":%q,"tag":%q},"request":{"host":%q}}]}`, sample.Repository, sample.Tag, host)
	resp, err := http.Post(base+"/api/v1/notifications/registry", "application/vnd.docker.distribution.events.v1+json", strings.NewReader(note))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("notification: %d", resp.StatusCode)
	}
	var events struct {
		Events []map[string]any `json:"events"`
	}
	waitFor(t, "moved-tag event", func() bool {
		getJSON(t, base+"/api/v1/events?kind=tag_moved", &events)
		return len(events.Events) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustConfig(t *testing.T, file string) *registry.Config {
	t.Helper()
	cfg, err := registry.LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
