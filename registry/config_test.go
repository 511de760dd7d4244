package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodConfig = `# tracked registries
registries:
  - name: internal
    host: registry.example.com:5000
    credentials:
      username: reader
      password_env: REGISTRY_PASSWORD
    repositories: [team/api, team/web]
    catalog:
      include: ["team/*"]
      exclude: ["team/tmp-*"]
    interval: 30m
    notify: [https://hooks.example.com/safeguard]
  - name: local
    host: 127.0.0.1:5000
    insecure: true
    credentials: {token_env: LOCAL_TOKEN}
    repositories: [app, library/node, library/alpine]
    bases: ["library/*"]
`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "registries.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig(writeFile(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := cfg.Registry("internal")
	if !ok || r.CrawlInterval() != 30*time.Minute || r.Credentials.PasswordEnv != "REGISTRY_PASSWORD" || len(r.Notify) != 1 {
		t.Errorf("internal: %+v", r)
	}
	l, _ := cfg.Registry("local")
	if !l.Insecure || l.CrawlInterval() != DefaultInterval || l.Credentials.TokenEnv != "LOCAL_TOKEN" {
		t.Errorf("local: %+v", l)
	}
	for repo, want := range map[string]bool{"team/api": true, "team/new": true, "team/tmp-1": false, "other/x": false} {
		if got := r.Tracks(repo); got != want {
			t.Errorf("Tracks(%s) = %v", repo, got)
		}
	}
	if rc, p, ok := cfg.Match("127.0.0.1:5000/app"); !ok || rc.Name != "local" || p != "app" {
		t.Errorf("Match: %v %q %v", rc.Name, p, ok)
	}
	if _, _, ok := cfg.Match("127.0.0.1:5000/other"); ok {
		t.Error("Match accepted an untracked repository")
	}
	for repo, want := range map[string]bool{"127.0.0.1:5000/library/node": true, "127.0.0.1:5000/library/alpine": true,
		"127.0.0.1:5000/app": false, "127.0.0.1:5000/library/untracked": false, "registry.example.com:5000/library/node": false} {
		if got := cfg.IsBase(repo); got != want {
			t.Errorf("IsBase(%s) = %v", repo, got)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	base := "registries:\n  - name: r\n    host: h.example.com\n    repositories: [a]\n"
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", base + "    colour: blue\n", "line 5: field colour not found in a registry entry"},
		{"unknown top key", "registry: []\n", "line 1: field registry not found at the top level"},
		{"no host", "registries:\n  - name: r\n    repositories: [a]\n", "line 2: registry \"r\": host is required"},
		{"scheme in host", "registries:\n  - name: r\n    host: https://h.example.com\n    repositories: [a]\n", "line 3: registry \"r\": host \"https://h.example.com\": want host[:port]"},
		{"nothing to crawl", "registries:\n  - name: r\n    host: h.example.com\n", "nothing to crawl"},
		{"bad repository", "registries:\n  - name: r\n    host: h.example.com\n    repositories: [\"a:latest\"]\n", "line 4: registry \"r\": repository \"a:latest\""},
		{"secret instead of name", base + "    credentials: {username: u, password_env: \"hunter2!\"}\n", "line 5: registry \"r\": credentials: password_env \"hunter2!\" is not an environment variable name"},
		{"half credentials", base + "    credentials: {username: u}\n", "username and password_env go together"},
		{"both credentials", base + "    credentials: {username: u, password_env: P, token_env: T}\n", "either token_env or username"},
		{"bad glob", "registries:\n  - name: r\n    host: h.example.com\n    catalog: {include: [\"[a\"]}\n", "line 4: registry \"r\": catalog: bad glob \"[a\""},
		{"bad interval", base + "    interval: soon\n", "line 5: interval \"soon\""},
		{"short interval", base + "    interval: 1s\n", "interval 1s is shorter than 10s"},
		{"bad notify", base + "    notify: [ftp://x]\n", "line 5: registry \"r\": notify: \"ftp://x\""},
		{"duplicate name", base + "  - name: r\n    host: other.example.com\n    repositories: [b]\n", "line 5: registry name \"r\" is used twice (first at line 2)"},
		{"not yaml", "registries: [\n", "yaml"},
		{"port out of range", "registries:\n  - name: r\n    host: 127.0.0.1:99999\n    repositories: [a]\n", "port must be 1-65535"},
		{"bad bases glob", base + "    bases: [\"[x\"]\n", "line 5: registry \"r\": bases: bad glob \"[x\""},
		{"base not tracked", base + "    bases: [library/node]\n", "bases: \"library/node\" matches none of the tracked repositories"},
		{"dot-dot repository", "registries:\n  - name: r\n    host: h.example.com\n    repositories: [\"../../etc\"]\n", "repository \"../../etc\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant …%s…", err, tc.want)
			}
		})
	}
	if cfg, err := LoadConfig(writeFile(t, "")); err != nil || len(cfg.Registries) != 0 {
		t.Errorf("empty file: %v", err)
	}
}

func TestAddToFileKeepsComments(t *testing.T) {
	p := writeFile(t, goodConfig)
	err := AddToFile(p, RegistryConfig{Name: "third", Host: "r3.example.com", Catalog: &CatalogConfig{Include: []string{"x/*"}}, Interval: Duration(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), "# tracked registries") || !strings.Contains(string(b), "interval: 2h0m0s") {
		t.Errorf("rewritten file:\n%s", b)
	}
	cfg, err := LoadConfig(p)
	if err != nil || len(cfg.Registries) != 3 {
		t.Fatalf("%v %+v", err, cfg)
	}
	if err := AddToFile(p, RegistryConfig{Name: "third", Host: "x.example.com", Repositories: []string{"a"}}); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate add: %v", err)
	}
	fresh := filepath.Join(t.TempDir(), "new.yaml")
	if err := AddToFile(fresh, RegistryConfig{Name: "a", Host: "127.0.0.1:5000", Insecure: true, Repositories: []string{"app"}}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadConfig(fresh); err != nil || len(cfg.Registries) != 1 || !cfg.Registries[0].Insecure {
		t.Errorf("new file: %v %+v", err, cfg)
	}
}
