package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The concrete store is the API's reader.
var _ Reader = (*sqlite.Store)(nil)

var registries = []RegistryInfo{
	{Name: "internal", Host: "registry.example.com", Repositories: []string{repo}, Interval: 6 * time.Hour},
	{Name: "mirror", Host: "registry.example.com:5000", Catalog: true, Interval: 90 * time.Second},
}

// stepClock advances by a millisecond per reading, so request durations
// in logs are deterministic and non-zero.
func stepClock() func() time.Time {
	now := t3
	return func() time.Time { now = now.Add(time.Millisecond); return now }
}

func newTestServer(t *testing.T, f *fixture, opts Options) *httptest.Server {
	t.Helper()
	_, srv := newTestAPI(t, f, opts)
	return srv
}

func newTestAPI(t *testing.T, f *fixture, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.Store = f.store
	if opts.Now == nil {
		opts.Now = stepClock()
	}
	if opts.Registries == nil {
		opts.Registries = func() []RegistryInfo { return registries }
	}
	s := New(opts)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

// decode unmarshals a JSON body into a generic value for assertions.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, b)
	}
	return v
}

func list(v map[string]any, key string) []any {
	l, _ := v[key].([]any)
	return l
}

// golden compares an indented rendering of a JSON body with
// testdata/name.golden.json, or rewrites it under -update.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s (run go test ./api -update and review the diff):\n%s", name, path, buf.Bytes())
	}
}

func TestEndpoints(t *testing.T) {
	f := newFixture(t)
	api, srv := newTestAPI(t, f, Options{})
	schemas := newSchemaChecker(t)
	tagsPath := "/api/v1/repositories/" + repo + "/tags"

	tests := []struct {
		name   string
		path   string
		status int
		golden string
		// check inspects the decoded body.
		check func(t *testing.T, v map[string]any)
		// param is the parameter a 400 must name.
		param string
	}{
		{name: "healthz", path: "/healthz", status: 200, check: func(t *testing.T, v map[string]any) {
			if v["status"] != "ok" {
				t.Errorf("healthz = %v", v)
			}
		}},
		{name: "registries", path: "/api/v1/registries", status: 200, golden: "registries"},
		{name: "repositories", path: "/api/v1/repositories", status: 200, golden: "repositories"},
		{name: "repository tags", path: tagsPath, status: 200, golden: "repository_tags"},
		{name: "repository tags, encoded slashes", path: "/api/v1/repositories/registry.example.com%2Fteam%2Fapp/tags", status: 200, check: func(t *testing.T, v map[string]any) {
			if v["repository"] != repo || len(list(v, "history")) != 3 {
				t.Errorf("got %v", v)
			}
		}},
		{name: "repository with a port", path: "/api/v1/repositories/" + other + "/tags", status: 200, check: func(t *testing.T, v map[string]any) {
			if len(list(v, "history")) != 1 {
				t.Errorf("got %v", v)
			}
		}},
		{name: "one tag's history", path: tagsPath + "?tag=latest", status: 200, check: func(t *testing.T, v map[string]any) {
			h := list(v, "history")
			if len(h) != 2 || h[0].(map[string]any)["previous_digest"] != digestA || h[0].(map[string]any)["digest"] != digestB {
				t.Errorf("latest history %v", h)
			}
		}},
		{name: "unknown tag", path: tagsPath + "?tag=nope", status: 404},
		{name: "unknown repository", path: "/api/v1/repositories/example.com/nope/tags", status: 404},
		{name: "repository without /tags", path: "/api/v1/repositories/" + repo, status: 404},
		{name: "tags, unknown parameter", path: tagsPath + "?tags=latest", status: 400, param: "tags"},
		{name: "images", path: "/api/v1/images", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "images")); n != 3 {
				t.Errorf("%d images", n)
			}
		}},
		{name: "images of a repository", path: "/api/v1/images?repository=" + repo, status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "images")); n != 2 {
				t.Errorf("%d images", n)
			}
		}},
		{name: "images on a base", path: "/api/v1/images?base=" + other + ":12", status: 200, check: func(t *testing.T, v map[string]any) {
			imgs := list(v, "images")
			if len(imgs) != 2 || imgs[0].(map[string]any)["repository"] != repo || imgs[1].(map[string]any)["repository"] != repo {
				t.Errorf("images on %s:12: %v", other, imgs)
			}
		}},
		{name: "images on a base by digest", path: "/api/v1/images?base=" + other + "@" + digestC, status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "images")); n != 2 {
				t.Errorf("%d images", n)
			}
		}},
		{name: "images on another tag of the base", path: "/api/v1/images?base=" + other + ":11", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "images")); n != 0 {
				t.Errorf("%d images", n)
			}
		}},
		{name: "images on node:latest (normalised, none)", path: "/api/v1/images?base=node:latest", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "images")); n != 0 {
				t.Errorf("%d images", n)
			}
		}},
		{name: "images, bad base", path: "/api/v1/images?base=node@sha256:nothex", status: 400, param: "base"},
		{name: "image", path: "/api/v1/images/" + digestA, status: 200, golden: "image"},
		{name: "image base chain", path: "/api/v1/images/" + digestA, status: 200, check: func(t *testing.T, v map[string]any) {
			b := v["base"].(map[string]any)
			chain := b["chain"].([]any)
			l := chain[0].(map[string]any)
			if len(chain) != 1 || l["base"].(map[string]any)["digest"] != digestC || l["base"].(map[string]any)["tag"] != "12" || l["method"] != "layers" || b["base_sbom"] != false {
				t.Errorf("base = %v", b)
			}
			// The base has no SBOM: in_base is absent, not false.
			for _, f := range list(v, "findings") {
				if _, ok := f.(map[string]any)["in_base"]; ok {
					t.Errorf("in_base without a base SBOM: %v", f)
				}
			}
		}},
		{name: "image without SBOM", path: "/api/v1/images/" + digestC, status: 200, check: func(t *testing.T, v map[string]any) {
			if v["trajectory"] != nil || len(list(v, "findings")) != 0 || len(list(v, "sboms")) != 0 || len(list(v, "tags")) != 1 {
				t.Errorf("image C: %v", v)
			}
		}},
		{name: "unknown image", path: "/api/v1/images/" + unknown, status: 404},
		{name: "malformed digest", path: "/api/v1/images/latest", status: 400, param: "digest"},
		{name: "short sha256", path: "/api/v1/images/sha256:abc", status: 400, param: "digest"},
		{name: "image findings", path: "/api/v1/images/" + digestA + "/findings", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "findings")); n != 3 {
				t.Errorf("%d findings", n)
			}
		}},
		{name: "image findings, KEV only", path: "/api/v1/images/" + digestA + "/findings?kev=true", status: 200, check: func(t *testing.T, v map[string]any) {
			fs := list(v, "findings")
			if len(fs) != 1 || fs[0].(map[string]any)["vulnerability"] != "DSA-5532-1" {
				t.Errorf("KEV findings %v", fs)
			}
		}},
		{name: "image findings, bad severity", path: "/api/v1/images/" + digestA + "/findings?severity=urgent", status: 400, param: "severity"},
		{name: "image findings, unknown image", path: "/api/v1/images/" + unknown + "/findings", status: 404},
		{name: "image findings, sbom is not accepted", path: "/api/v1/images/" + digestA + "/findings?sbom=1", status: 400, param: "sbom"},
		{name: "image packages", path: "/api/v1/images/" + digestA + "/packages", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "packages")); n != 3 {
				t.Errorf("%d packages", n)
			}
		}},
		{name: "image trajectory", path: "/api/v1/images/" + digestA + "/trajectory", status: 200, check: func(t *testing.T, v map[string]any) {
			pts := list(v, "points")
			if len(pts) != 2 || pts[1].(map[string]any)["total"] != 3.0 {
				t.Errorf("trajectory %v", pts)
			}
		}},
		{name: "trajectory of an image without SBOM", path: "/api/v1/images/" + digestC + "/trajectory", status: 404},
		{name: "findings", path: "/api/v1/findings", status: 200, golden: "findings"},
		{name: "findings, high and up", path: "/api/v1/findings?severity=HIGH", status: 200, check: func(t *testing.T, v map[string]any) {
			for _, x := range list(v, "findings") {
				if s := x.(map[string]any)["severity"]; s != "high" && s != "critical" {
					t.Errorf("severity %v", s)
				}
			}
		}},
		{name: "findings of a package", path: "/api/v1/findings?package=lodash", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "findings")); n != 2 {
				t.Errorf("%d lodash findings", n)
			}
		}},
		{name: "findings of SBOMs", path: fmt.Sprintf("/api/v1/findings?sbom=%d&include_resolved=true", f.sbomB), status: 200, check: func(t *testing.T, v map[string]any) {
			fs := list(v, "findings")
			if len(fs) != 1 || fs[0].(map[string]any)["vulnerability"] != "GO-2023-1571" || fs[0].(map[string]any)["sbom_id"] != float64(f.sbomB) {
				t.Errorf("findings of the Go binary %v", fs)
			}
		}},
		{name: "findings of an unknown SBOM", path: "/api/v1/findings?sbom=999", status: 404},
		{name: "findings, bad SBOM id", path: "/api/v1/findings?sbom=one", status: 400, param: "sbom"},
		{name: "findings, bad kev", path: "/api/v1/findings?kev=maybe", status: 400, param: "kev"},
		{name: "findings, misspelt parameter", path: "/api/v1/findings?sevrity=high", status: 400, param: "sevrity"},
		{name: "findings, repeated parameter", path: "/api/v1/findings?severity=high&severity=low", status: 400, param: "severity"},
		{name: "findings, package filter too long", path: "/api/v1/findings?package=" + strings.Repeat("x", 60000), status: 400, param: "package"},
		{name: "findings, malformed query", path: "/api/v1/findings?severity=%zz", status: 400},
		{name: "events", path: "/api/v1/events", status: 200, golden: "events"},
		{name: "moved tags", path: "/api/v1/events?kind=tag_moved", status: 200, check: func(t *testing.T, v map[string]any) {
			evs := list(v, "events")
			if len(evs) != 1 {
				t.Fatalf("events %v", evs)
			}
			e := evs[0].(map[string]any)
			if e["tag"] != "latest" || e["old_digest"] != digestA || e["digest"] != digestB {
				t.Errorf("moved tag %v", e)
			}
		}},
		{name: "events since", path: "/api/v1/events?since=" + t3.Format(time.RFC3339) + "&kind=new_image,tag_moved", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "events")); n != 2 {
				t.Errorf("%d events since t3, want the new image B and the move", n)
			}
		}},
		{name: "events limit", path: "/api/v1/events?limit=1", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "events")); n != 1 {
				t.Errorf("%d events", n)
			}
		}},
		{name: "deployments", path: "/api/v1/deployments", status: 200, golden: "deployments"},
		{name: "production deployments of a digest", path: "/api/v1/deployments?environment=production&digest=" + digestA, status: 200, check: func(t *testing.T, v map[string]any) {
			ds := list(v, "deployments")
			if len(ds) != 1 || ds[0].(map[string]any)["workload"] != "web" {
				t.Errorf("deployments %v", ds)
			}
		}},
		{name: "deployments, no match", path: "/api/v1/deployments?namespace=none", status: 200, check: func(t *testing.T, v map[string]any) {
			if ds := list(v, "deployments"); len(ds) != 0 {
				t.Errorf("deployments %v", ds)
			}
		}},
		{name: "deployments, unknown filter", path: "/api/v1/deployments?image=x", status: 400, param: "image"},
		{name: "deployments, repeated filter", path: "/api/v1/deployments?cluster=a&cluster=b", status: 400, param: "cluster"},
		{name: "events, bad kind", path: "/api/v1/events?kind=tag_moved&kind=explosion", status: 400, param: "kind"},
		{name: "events, bad since", path: "/api/v1/events?since=yesterday", status: 400, param: "since"},
		{name: "events, zero limit", path: "/api/v1/events?limit=0", status: 400, param: "limit"},
		{name: "events, huge limit", path: "/api/v1/events?limit=100000", status: 400, param: "limit"},
		{name: "feeds", path: "/api/v1/feeds", status: 200, golden: "feeds"},
		{name: "sboms", path: "/api/v1/sboms", status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "sboms")); n != 2 {
				t.Errorf("%d sboms", n)
			}
		}},
		{name: "sbom", path: fmt.Sprintf("/api/v1/sboms/%d", f.sbomA), status: 200, check: func(t *testing.T, v map[string]any) {
			sb, _ := v["sbom"].(map[string]any)
			if sb["id"] != float64(f.sbomA) || len(list(v, "packages")) != 3 {
				t.Errorf("sbom %v", v)
			}
		}},
		{name: "unknown sbom", path: "/api/v1/sboms/999", status: 404},
		{name: "bad sbom id", path: "/api/v1/sboms/abc", status: 400, param: "id"},
		{name: "negative sbom id", path: "/api/v1/sboms/-1", status: 400, param: "id"},
		{name: "sbom findings", path: fmt.Sprintf("/api/v1/sboms/%d/findings?severity=medium", f.sbomA), status: 200, check: func(t *testing.T, v map[string]any) {
			if n := len(list(v, "findings")); n != 2 {
				t.Errorf("%d medium-and-up findings", n)
			}
		}},
		{name: "unknown sbom findings", path: "/api/v1/sboms/999/findings", status: 404},
		{name: "sbom trajectory", path: fmt.Sprintf("/api/v1/sboms/%d/trajectory", f.sbomA), status: 200, golden: "sbom_trajectory"},
		{name: "unknown sbom trajectory", path: "/api/v1/sboms/999/trajectory", status: 404},
		{name: "no route", path: "/api/v1/nope", status: 404},
		{name: "openapi", path: "/api/v1/openapi.json", status: 200, check: func(t *testing.T, v map[string]any) {
			if v["openapi"] != "3.0.3" {
				t.Errorf("openapi %v", v["openapi"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, "GET", srv.URL+tc.path, nil)
			if res.status != tc.status {
				t.Fatalf("GET %s = %d, want %d\n%s", tc.path, res.status, tc.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			v := decode(t, res.body)
			if tc.status >= 400 {
				if v["status"] != float64(tc.status) || v["error"] == "" {
					t.Errorf("error body %s", res.body)
				}
				if tc.param != "" && (v["parameter"] != tc.param || !strings.Contains(v["error"].(string), tc.param)) {
					t.Errorf("a 400 must name parameter %q: %s", tc.param, res.body)
				}
			}
			// Every answer has the shape openapi.json documents.
			var generic any
			_ = json.Unmarshal(res.body, &generic)
			schema := map[string]any{"$ref": "#/components/schemas/Error"}
			if tc.status == 200 {
				schema = schemas.responseSchema(api.docPathOf(t, tc.path), "get")
			}
			for _, e := range schemas.check("$", schema, generic) {
				t.Errorf("response does not match openapi.json: %s", e)
			}
			if tc.golden != "" {
				golden(t, tc.golden, res.body)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv := newTestServer(t, newFixture(t), Options{})
	res := do(t, "POST", srv.URL+"/api/v1/images", strings.NewReader("{}"))
	if res.status != http.StatusMethodNotAllowed || !strings.Contains(res.header.Get("Allow"), "GET") {
		t.Fatalf("POST /api/v1/images = %d, Allow %q", res.status, res.header.Get("Allow"))
	}
	if v := decode(t, res.body); v["status"] != 405.0 {
		t.Errorf("body %s", res.body)
	}
	if res := do(t, "HEAD", srv.URL+"/api/v1/images", nil); res.status != 200 {
		t.Errorf("HEAD = %d", res.status)
	}
	// The mux's path-cleaning redirect passes through untouched.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := client.Get(srv.URL + "/api/v1//sboms")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode/100 != 3 || r.Header.Get("Location") != "/api/v1/sboms" {
		t.Errorf("GET /api/v1//sboms = %d, Location %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestImageAcrossRepositories(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// The same digest tagged in a second repository shows that tag's
	// history too.
	must(f.store.RecordTag(ctx, storeTag(other, "app-copy", digestA, t3)))
	srv := newTestServer(t, f, Options{})
	v := decode(t, do(t, "GET", srv.URL+"/api/v1/images/"+digestA, nil).body)
	tags := fmt.Sprint(v["tags"])
	if !strings.Contains(tags, other+":app-copy") || !strings.Contains(tags, repo+":1.0") {
		t.Errorf("tags %s", tags)
	}
	var repos []string
	for _, h := range list(v, "tag_history") {
		m := h.(map[string]any)
		repos = append(repos, m["repository"].(string)+":"+m["tag"].(string))
	}
	want := []string{repo + ":1.0", repo + ":latest", repo + ":latest", other + ":app-copy"}
	if fmt.Sprint(repos) != fmt.Sprint(want) {
		t.Errorf("tag history %v, want %v", repos, want)
	}
}

func TestMetrics(t *testing.T) {
	srv := newTestServer(t, newFixture(t), Options{})
	do(t, "GET", srv.URL+"/api/v1/images/"+digestA, nil)
	do(t, "GET", srv.URL+"/api/v1/images/"+unknown, nil)
	do(t, "GET", srv.URL+"/no/such/path/sha256:123", nil)
	res := do(t, "GET", srv.URL+"/metrics", nil)
	if res.status != 200 {
		t.Fatalf("/metrics = %d", res.status)
	}
	body := string(res.body)
	for _, want := range []string{
		"safeguard_sboms 2\n",
		"safeguard_packages 4\n",
		"safeguard_advisories 4\n",
		"safeguard_open_matches 4\n",
		"safeguard_kev_entries 1\n",
		"safeguard_store_up 1\n",
		`safeguard_http_requests_total{code="200",method="GET",route="/api/v1/images/{digest}"} 1`,
		`safeguard_http_requests_total{code="404",method="GET",route="/api/v1/images/{digest}"} 1`,
		`safeguard_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`safeguard_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/images/{digest}"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/no/such/path") {
		t.Error("a raw path leaked into a metric label")
	}
}

func TestReadyz(t *testing.T) {
	f := newFixture(t)
	var notReady error = errors.New("first feed import not done")
	srv := newTestServer(t, f, Options{Ready: func() error { return notReady }})
	res := do(t, "GET", srv.URL+"/readyz", nil)
	if v := decode(t, res.body); res.status != 503 || !strings.Contains(v["error"].(string), "first feed import not done") {
		t.Fatalf("not ready: %d %s", res.status, res.body)
	}
	notReady = nil
	if res := do(t, "GET", srv.URL+"/readyz", nil); res.status != 200 {
		t.Fatalf("ready: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/healthz", nil); res.status != 200 {
		t.Fatalf("healthz: %d", res.status)
	}
}

func TestStoreDown(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	srv := newTestServer(t, f, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	f.store.Close()
	// Without Options.Ready, readiness is the store answering.
	if res := do(t, "GET", srv.URL+"/readyz", nil); res.status != 503 {
		t.Errorf("readyz with a closed store = %d", res.status)
	}
	res := do(t, "GET", srv.URL+"/api/v1/sboms", nil)
	if v := decode(t, res.body); res.status != 500 || v["error"] != "internal server error" {
		t.Errorf("closed store: %d %s", res.status, res.body)
	}
	if !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("the cause must be logged:\n%s", logs.String())
	}
	res = do(t, "GET", srv.URL+"/metrics", nil)
	if res.status != 200 || !strings.Contains(string(res.body), "safeguard_store_up 0\n") {
		t.Errorf("metrics with a closed store: %d", res.status)
	}
}

func TestRequestLogs(t *testing.T) {
	var logs bytes.Buffer
	srv := newTestServer(t, newFixture(t), Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	do(t, "GET", srv.URL+"/api/v1/images/"+digestA+"?token=hunter2", nil)
	var rec map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
	}
	if rec["msg"] != "http request" || rec["method"] != "GET" || rec["pattern"] != "/api/v1/images/{digest}" ||
		rec["status"] != 400.0 || rec["duration"] != float64(time.Millisecond) || rec["path"] != "/api/v1/images/"+digestA {
		t.Errorf("log record %v", rec)
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Error("the query string was logged")
	}
}

func TestExtraRoutesPanicsAndBodyLimit(t *testing.T) {
	var logs bytes.Buffer
	var readErr error
	extra := map[string]http.Handler{
		"POST /api/v1/notifications/registry": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, readErr = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
		}),
		"GET /api/v1/boom": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }),
	}
	srv := newTestServer(t, newFixture(t), Options{Extra: extra, MaxBodyBytes: 16, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	if res := do(t, "POST", srv.URL+"/api/v1/notifications/registry", strings.NewReader(`{"events":[]}`)); res.status != 202 || readErr != nil {
		t.Errorf("small body: %d %v", res.status, readErr)
	}
	res := do(t, "POST", srv.URL+"/api/v1/notifications/registry", strings.NewReader(strings.Repeat("x", 100)))
	if v := decode(t, res.body); res.status != 413 || v["status"] != 413.0 {
		t.Errorf("declared large body: %d %s", res.status, res.body)
	}
	// A body of undeclared length fails when read past the limit.
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte(strings.Repeat("x", 100))); pw.Close() }()
	do(t, "POST", srv.URL+"/api/v1/notifications/registry", pr)
	var tooLarge *http.MaxBytesError
	if !errors.As(readErr, &tooLarge) {
		t.Errorf("streamed large body: read error %v", readErr)
	}

	res = do(t, "GET", srv.URL+"/api/v1/boom", nil)
	if v := decode(t, res.body); res.status != 500 || v["error"] != "internal server error" {
		t.Errorf("panic: %d %s", res.status, res.body)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Errorf("the panic must be logged:\n%s", logs.String())
	}
	if res := do(t, "GET", srv.URL+"/healthz", nil); res.status != 200 {
		t.Errorf("server after a panic: %d", res.status)
	}
}

func TestConflictingExtraRoutePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("an Extra route that conflicts with a built-in one must make New panic")
		}
	}()
	New(Options{Store: newFixture(t).store, Extra: map[string]http.Handler{"GET /api/v1/images/{id}": http.NotFoundHandler()}})
}

// docPathOf is the openapi.json path of the route serving a request path.
func (s *Server) docPathOf(t *testing.T, path string) string {
	t.Helper()
	_, pattern := s.mux.Handler(httptest.NewRequest("GET", path, nil))
	for _, rt := range s.routes {
		if rt.pattern() == pattern {
			return rt.docPath()
		}
	}
	t.Fatalf("no route serves %s", path)
	return ""
}
