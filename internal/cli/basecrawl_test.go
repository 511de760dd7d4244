package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// registry crawl attributes bases end to end: a config with bases:, images
// pushed on shared layers, then images --base and image show.
func TestCrawlAttributesBases(t *testing.T) {
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	stack := func(base v1.Image, n int) v1.Image {
		img := base
		for i := 0; i < n; i++ {
			l, err := random.Layer(128, types.DockerLayer)
			if err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(img, l); err != nil {
				t.Fatal(err)
			}
		}
		return img
	}
	push := func(ref string, img v1.Image) string {
		r, err := name.ParseReference(host+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}
	node := stack(empty.Image, 2)
	nodeDigest := push("library/node:20", node)
	push("library/node:latest", node)
	apiDigest := push("acme/api:1", stack(node, 1))
	push("acme/squashed:1", stack(empty.Image, 1))

	dir := t.TempDir()
	cfg := filepath.Join(dir, "registries.yaml")
	body := fmt.Sprintf("registries:\n  - name: local\n    host: %s\n    insecure: true\n    repositories: [library/node, acme/api, acme/squashed]\n    bases: [\"library/*\"]\n", host)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "s.db")
	code, out, errOut := run(t, "registry", "crawl", "--config", cfg, "--db", db)
	if code != ExitOK || !strings.Contains(out, "base images: 3 images against 3 catalogued (1 from base repositories); 3 attributed for the first time, 0 changed") {
		t.Fatalf("crawl: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "images", "--base", host+"/library/node:latest", "--db", db, "--format", "json")
	var v struct {
		Images []struct {
			Digest string `json:"digest"`
			Base   string `json:"base"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != ExitOK {
		t.Fatalf("images: %d %v %s", code, err, errOut)
	}
	if len(v.Images) != 1 || v.Images[0].Digest != apiDigest || v.Images[0].Base != host+"/library/node:20" {
		t.Errorf("images on node:latest = %+v", v.Images)
	}
	code, out, _ = run(t, "image", "show", host+"/acme/api:1", "--db", db)
	if code != ExitOK || !strings.Contains(out, host+"/library/node@"+shortDigest(nodeDigest)) || !strings.Contains(out, "20 (20,latest)") {
		t.Errorf("image show: %d\n%s", code, out)
	}
	// A second crawl finds nothing new and rewrites no chain.
	if code, out, _ = run(t, "registry", "crawl", "--config", cfg, "--db", db); !strings.Contains(out, "0 attributed for the first time, 0 changed") {
		t.Errorf("second crawl: %d\n%s", code, out)
	}
	// registry add writes bases:, registry list shows them.
	added := filepath.Join(dir, "added.yaml")
	if code, _, errOut := run(t, "registry", "add", "--config", added, "m", host, "--insecure", "--repo", "library/node", "--base", "library/*"); code != ExitOK {
		t.Fatalf("registry add: %d %s", code, errOut)
	}
	if code, out, _ := run(t, "registry", "list", "--config", added); code != ExitOK || !strings.Contains(out, "bases library/*") {
		t.Errorf("registry list: %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "registry", "add", "--config", added, "n", host, "--repo", "a", "--base", "library/*"); code != ExitError || !strings.Contains(errOut, "matches none of the tracked repositories") {
		t.Errorf("registry add with an untracked base: %d %s", code, errOut)
	}
	// A bases: glob naming no tracked repository is bad input, named.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(body, `bases: ["library/*"]`, `bases: ["mirror/*"]`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "registry", "crawl", "--config", bad, "--db", db); code != ExitError || !strings.Contains(errOut, "bad.yaml") || !strings.Contains(errOut, "bases") {
		t.Errorf("bad bases: %d %s", code, errOut)
	}
}
