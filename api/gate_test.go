package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/signature"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

const apiPolicy = `version: 1
name: api
trust_policy: trust.yaml
rules:
  - {name: kev-critical, type: vulnerabilities, with: {severity: critical, kev: true}}
  - {name: signed-by-ci, type: signature, scope: {environments: [production]}, with: {signers: [ci]}}
  - {name: sbom, type: sbom, mode: warn}
`

// gateServer is the API over a real gate: loopback registry, SQLite store
// with the bundled feeds, the trust policy's key.
func gateServer(t testing.TB) (*httptest.Server, *gatetest.World, *sqlite.Store) {
	t.Helper()
	w := gatetest.New(t)
	st := gatetest.Store(t, "..")
	path := filepath.Join(w.Dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(apiPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.NewVerifier(p.Trust)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(gate.Options{Policy: p, Store: st, Log: st, Caller: "api",
		Signatures: &sigstatus.Checker{Verifier: v, Store: st},
		Source:     &gate.Registries{Crawler: &registry.Crawler{Inventory: st, SBOMs: gatetest.Sink{St: st}}, Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Store: st, Gate: g, Decisions: st}).Handler())
	t.Cleanup(srv.Close)
	return srv, w, st
}

func post(t testing.TB, c *http.Client, url, body string) (int, []byte) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestGateEndpoint(t *testing.T) {
	srv, w, _ := gateServer(t)
	schemas := newSchemaChecker(t)
	body, _ := json.Marshal(gate.Request{Images: []string{w.Refs["signed-clean"], w.Refs["unsigned-clean"], w.Refs["vulnerable"]}, Input: gate.Input{Environment: "production", Namespace: "payments"}})
	code, raw := post(t, srv.Client(), srv.URL+"/api/v1/gate", string(body))
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, raw)
	}
	var generic any
	json.Unmarshal(raw, &generic)
	if errs := schemas.check("gate", schemas.responseSchema("/api/v1/gate", "post"), generic); len(errs) > 0 {
		t.Errorf("response does not match openapi.json: %v", errs)
	}
	var rep gate.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != gate.Deny || len(rep.Decisions) != 3 {
		t.Fatalf("%+v", rep)
	}
	want := []struct{ verdict, rule string }{{gate.Allow, ""}, {gate.Deny, "signed-by-ci"}, {gate.Deny, "kev-critical"}}
	for i, d := range rep.Decisions {
		got := ""
		if len(d.Violations) > 0 {
			got = d.Violations[0].Rule
		}
		if d.Verdict != want[i].verdict || got != want[i].rule {
			t.Errorf("decision %d: %s %s, want %v", i, d.Verdict, got, want[i])
		}
	}
	// The decision log over the API.
	resp, err := srv.Client().Get(srv.URL + "/api/v1/decisions?verdict=deny&environment=production")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(raw, &generic)
	if errs := schemas.check("decisions", schemas.responseSchema("/api/v1/decisions", "get"), generic); len(errs) > 0 {
		t.Errorf("decisions do not match openapi.json: %v", errs)
	}
	var list struct {
		Decisions []struct {
			Digest   string        `json:"digest"`
			Source   string        `json:"source"`
			Decision gate.Decision `json:"decision"`
		} `json:"decisions"`
	}
	json.Unmarshal(raw, &list)
	if len(list.Decisions) != 2 || list.Decisions[0].Source != "api" || list.Decisions[0].Decision.Verdict != gate.Deny {
		t.Errorf("decision log: %s", raw)
	}
}

func TestGateEndpointBadRequests(t *testing.T) {
	srv, _, _ := gateServer(t)
	for body, want := range map[string]string{
		`{}`:                            "give at least one image",
		`{"images": [""]}`:              "images[0] is empty",
		`{"images": ["a"], "extra": 1}`: `unknown field \"extra\"`,
		`not json`:                      "request body",
		`{"images": ["a"]} {"x": 1}`:    "more than one JSON value",
		`{"images": [` + strings.Repeat(`"a",`, gate.MaxImages) + `"a"]}`: "at most 100",
	} {
		code, raw := post(t, srv.Client(), srv.URL+"/api/v1/gate", body)
		if code != http.StatusBadRequest || !strings.Contains(string(raw), want) {
			t.Errorf("%.40s: %d %s", body, code, raw)
		}
	}
	// A form or text/plain POST (what a web page can send cross-site without
	// a preflight) is refused before the gate runs: no decision is logged,
	// no registry is asked.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/gate", strings.NewReader(`{"images": ["a"]}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d", ct, resp.StatusCode)
		}
	}
	resp, _ := srv.Client().Get(srv.URL + "/api/v1/decisions?verdict=maybe")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad verdict filter: %d", resp.StatusCode)
	}
	resp.Body.Close()
	// A server without a policy says so.
	bare := httptest.NewServer(New(Options{Store: newFixture(t).store}).Handler())
	defer bare.Close()
	code, raw := post(t, bare.Client(), bare.URL+"/api/v1/gate", `{"images": ["a"]}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(raw), "--policy") {
		t.Errorf("no gate: %d %s", code, raw)
	}
}

// BenchmarkGateAPIKnownDigest is a gate call for a known digest through
// the API on loopback: HTTP, JSON, store lookups, policy, decision log.
// Clean is a one-package image; Vulnerable is Keycloak 10.0.2 (226
// findings, denied).
func BenchmarkGateAPIKnownDigest(b *testing.B) {
	b.Run("Clean", func(b *testing.B) { benchGateAPI(b, "signed-clean", `"verdict":"allow"`) })
	b.Run("Vulnerable", func(b *testing.B) { benchGateAPI(b, "vulnerable", `"verdict":"deny"`) })
}

func benchGateAPI(b *testing.B, image, want string) {
	srv, w, _ := gateServer(b)
	c := srv.Client()
	body, _ := json.Marshal(gate.Request{Images: []string{w.Pinned(image)}, Input: gate.Input{Environment: "production"}})
	if code, raw := post(b, c, srv.URL+"/api/v1/gate", string(body)); code != 200 || !bytes.Contains(raw, []byte(want)) {
		b.Fatalf("%d %s", code, raw)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		resp, err := c.Post(srv.URL+"/api/v1/gate", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N)/1000, "ms/call")
}
