package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/gate/gatetest"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

const e2ePolicy = `version: 1
name: e2e
trust_policy: trust.yaml
org_registries: [HOST]
rules:
  - {name: kev-critical, type: vulnerabilities, with: {severity: critical, kev: true}}
  - {name: signed-by-ci, type: signature, scope: {environments: [production]}, with: {signers: [ci]}}
  - {name: approved-base, type: base-images, with: {approved: ["HOST/base/*"], allow_unknown: true}}
  - {name: no-typosquats, type: references, with: {deny_typosquats: true}}
  - {name: fresh, type: age, mode: warn, with: {max: 90d}}
  - {name: owner, type: cel, mode: audit, with: {expression: '"team" in image.labels', message: no team label}}
`

type gateWorld struct {
	w      *gatetest.World
	policy string
	db     string
	hash   string
}

// newGateWorld starts the registry, writes the policy, imports the bundled
// feeds into a store with `feed import`, and records base images: an
// approved one for signed-clean, an unapproved one for unsigned-clean.
func newGateWorld(t testing.TB) *gateWorld {
	t.Helper()
	w := gatetest.New(t)
	gw := &gateWorld{w: w, policy: filepath.Join(w.Dir, "policy.yaml"), db: filepath.Join(t.TempDir(), "g.db")}
	if err := os.WriteFile(gw.policy, []byte(strings.ReplaceAll(e2ePolicy, "HOST", w.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(gw.policy)
	if err != nil {
		t.Fatal(err)
	}
	gw.hash = p.Hash()
	args := []string{"feed", "import", "--db", gw.db}
	for _, f := range gatetest.FeedFiles {
		args = append(args, "../../"+f)
	}
	if code, _, errs := run(t, args...); code != 0 {
		t.Fatalf("feed import: %s", errs)
	}
	st, err := sqlite.Open(context.Background(), gw.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Base attribution is another component's work; its stored result is
	// what the gate reads.
	for key, base := range map[string]store.BaseLink{
		"signed-clean":   {BaseRepository: w.Host + "/base/alpine", BaseTag: "3.20", BaseDigest: "sha256:" + strings.Repeat("b", 64), Method: "annotation", Confidence: "certain"},
		"unsigned-clean": {BaseRepository: "docker.io/library/ubuntu", BaseTag: "22.04", BaseDigest: "sha256:" + strings.Repeat("c", 64), Method: "annotation", Confidence: "certain"},
	} {
		if err := st.PutBaseChain(context.Background(), w.Digests[key], []store.BaseLink{base}); err != nil {
			t.Fatal(err)
		}
	}
	return gw
}

func (gw *gateWorld) gate(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }, getenv: func(k string) string { return vars[k] }}
	code := e.run(context.Background(), append([]string{"gate", "--db", gw.db, "--policy", gw.policy, "--insecure"}, args...))
	return code, out.String(), errb.String()
}

func TestGateExitCodes(t *testing.T) {
	gw := newGateWorld(t)
	w := gw.w
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		output []string // substrings of stdout
	}{
		{"signed, clean, approved base, production", []string{"--env", "production", w.Refs["signed-clean"]}, 0, []string{"ALLOW", "! fresh (warning): image was built 2026-05-01"}},
		{"unsigned in production", []string{"--env", "production", w.Refs["unsigned-clean"]}, 1, []string{"✗ signed-by-ci: image sha256:", "✗ approved-base: base image docker.io/library/ubuntu:22.04@sha256:cccccccccccc is not on the approved list"}},
		{"unapproved base in staging", []string{"--env", "staging", w.Refs["unsigned-clean"]}, 1, []string{"✗ approved-base"}},
		{"C83 critical KEV", []string{w.Refs["vulnerable"]}, 1, []string{"✗ kev-critical: 2 open critical, KEV findings: GHSA-c9hw-wf7x-jp9j (CVE-2020-1938) in org.apache.tomcat.embed:tomcat-embed-core"}},
		{"C77 unscanned", []string{w.Refs["no-sbom"]}, 1, []string{"no SBOM: the image was never scanned"}},
		{"C48 nothing usable", []string{w.Refs["unusable-sbom"]}, 1, []string{"0 packages analysed"}},
		{"C75 typosquat", []string{"ubunto:20.04"}, 1, []string{"ubunto is not an official image; it looks like the official image ubuntu", "(not resolved)"}},
		{"look-alike of our registry", []string{strings.Replace(w.Host, "127.0.0.1", "127.0.0.2", 1) + "/acme/app:1.0"}, 1, nil},
		{"C66 signed index", []string{"--env", "production", w.Refs["index"]}, 0, []string{"ALLOW"}},
		{"C60 moved tag", []string{"--env", "production", w.Refs["moved-new"]}, 1, []string{w.Digests["moved-new"]}},
		{"no such tag", []string{w.Host + "/acme/app:9.9"}, 1, []string{"✗ gate: the registry has no such image"}},
		{"fail-open", []string{"--fail-open", w.Host + "/acme/app:9.9"}, 0, []string{"! gate (warning)"}},
		{"one denied of two", []string{w.Refs["signed-clean"], w.Refs["vulnerable"]}, 1, []string{"1 of 2 images denied"}},
	} {
		code, out, errs := gw.gate(t, nil, c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, code, c.code, out, errs)
			continue
		}
		for _, s := range c.output {
			if !strings.Contains(out, s) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, s, out)
			}
		}
		if strings.Contains(out, "no team label") {
			t.Errorf("%s: an audit violation was shown to people", c.name)
		}
	}
	// Every decision went to the decision log.
	st, err := sqlite.Open(context.Background(), gw.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logged, err := st.Decisions(context.Background(), store.DecisionFilter{Digest: w.Digests["vulnerable"]})
	if err != nil || len(logged) != 2 || logged[0].Verdict != gate.Deny || logged[0].Source != "cli" || logged[0].PolicyHash != gw.hash {
		t.Errorf("decision log: %+v %v", logged, err)
	}
}

func TestGateBadInput(t *testing.T) {
	gw := newGateWorld(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: x\nrules:\n  - type: vulnerabilities\n    with: {severity: critcal}\n"), 0o644)
	for name, args := range map[string][]string{
		"bad policy":   {"gate", "--policy", bad, "alpine:3.20"},
		"no policy":    {"gate", "--policy", filepath.Join(t.TempDir(), "none.yaml"), "alpine:3.20"},
		"bad format":   {"gate", "--policy", gw.policy, "--format", "xml", "alpine:3.20"},
		"no images":    {"gate", "--policy", gw.policy},
		"no feeds":     {"gate", "--policy", gw.policy, gw.w.Refs["signed-clean"]},
		"check bad":    {"policy", "check", bad},
		"test missing": {"policy", "test", t.TempDir()},
	} {
		code, out, errs := run(t, args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out, errs)
		}
		if name == "bad policy" && !strings.Contains(errs, `line 4: rules[0] (vulnerabilities): with.severity: "critcal" is not critical, high, medium or low`) {
			t.Errorf("bad policy: %s", errs)
		}
		if name == "no feeds" && !strings.Contains(errs, "holds no advisories") {
			t.Errorf("no feeds: %s", errs)
		}
	}
	// A mistyped --db is refused and left uncreated, directory included.
	missing := filepath.Join(t.TempDir(), "typo", "ci.bd")
	if code, _, errs := run(t, "gate", "--policy", gw.policy, "--db", missing, "alpine:3.20"); code != 2 || !strings.Contains(errs, "no such store") {
		t.Errorf("missing --db: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Errorf("a refused gate run created %s", filepath.Dir(missing))
	}
	// A budget that is no budget is refused, not replaced by the default.
	for _, b := range []string{"0s", "-1s"} {
		if code, out, errs := gw.gate(t, nil, "--budget", b, gw.w.Refs["signed-clean"]); code != 2 || !strings.Contains(errs, "--budget "+b) {
			t.Errorf("--budget %s: exit %d\n%s%s", b, code, out, errs)
		}
	}
}

func TestGateGitHubAnnotations(t *testing.T) {
	gw := newGateWorld(t)
	code, out, _ := gw.gate(t, map[string]string{"GITHUB_ACTIONS": "true"}, "--env", "production", gw.w.Refs["unsigned-clean"], gw.w.Refs["signed-clean"])
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !regexp.MustCompile(`(?m)^::error title=safeguard gate%3A signed-by-ci::` + regexp.QuoteMeta(gw.w.Refs["unsigned-clean"]) + `: image sha256:`).MatchString(out) {
		t.Errorf("no ::error command:\n%s", out)
	}
	if !strings.Contains(out, "::warning title=safeguard gate%3A fresh::") {
		t.Errorf("no ::warning command:\n%s", out)
	}
	// In machine formats the commands go to stderr, so stdout stays parseable.
	_, out, errs := gw.gate(t, map[string]string{"GITHUB_ACTIONS": "true"}, "--format", "json", gw.w.Refs["unsigned-clean"])
	var rep gate.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !strings.Contains(errs, "::error") {
		t.Errorf("json with annotations: %v\n%s", err, errs)
	}
}

// Golden outputs in every format, over the same four images; digests, the
// registry address, the policy hash and latencies are replaced by names.
func TestGateGolden(t *testing.T) {
	gw := newGateWorld(t)
	w := gw.w
	images := []string{w.Refs["signed-clean"], w.Refs["unsigned-clean"], w.Refs["vulnerable"], "ubunto:20.04"}
	norm := func(s string) string {
		for name, d := range w.Digests {
			s = strings.ReplaceAll(s, d, "sha256:<"+name+">")
			s = strings.ReplaceAll(s, d[:19], "sha256:<"+name+">")
		}
		s = strings.ReplaceAll(s, gw.hash, "sha256:<policy>")
		s = strings.ReplaceAll(s, w.Host, "registry.test")
		s = regexp.MustCompile(`"latency_ms": [0-9.e-]+`).ReplaceAllString(s, `"latency_ms": 0`)
		s = regexp.MustCompile(`\([0-9.]+ ms\)`).ReplaceAllString(s, "(0.0 ms)")
		s = regexp.MustCompile(`time="[0-9.]+"`).ReplaceAllString(s, `time="0.000"`)
		return s
	}
	for _, format := range []string{"text", "json", "sarif", "junit"} {
		code, out, errs := gw.gate(t, nil, append([]string{"--env", "production", "--format", format}, images...)...)
		if code != 1 {
			t.Fatalf("%s: exit %d: %s", format, code, errs)
		}
		switch format {
		case "json", "sarif":
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Errorf("%s: %v", format, err)
			}
		case "junit":
			var v junitSuites
			if err := xml.Unmarshal([]byte(out), &v); err != nil || v.Suites[0].Failures != 3 || v.Suites[0].Tests != 4 {
				t.Errorf("junit: %+v %v", v, err)
			}
		}
		golden(t, "gate."+format, norm(out))
	}
}

func TestPolicyCommands(t *testing.T) {
	code, out, errs := run(t, "policy", "test", "../../examples/policy/tests")
	if code != 0 || !strings.Contains(out, "11 cases, 0 failed") {
		t.Fatalf("example tests: %d\n%s%s", code, out, errs)
	}
	// A failing expectation exits 1 and says what was got.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte("version: 1\nname: p\nrules: [{type: sbom}]\n"), 0o644)
	tests := filepath.Join(dir, "tests")
	os.Mkdir(tests, 0o755)
	os.WriteFile(filepath.Join(tests, "tests.yaml"), []byte("cases:\n  - name: wrong\n    facts: {digest: 'sha256:1'}\n    expect: {verdict: allow, violations: []}\n"), 0o644)
	code, out, _ = run(t, "policy", "test", "--policy", filepath.Join(dir, "p.yaml"), tests)
	if code != 1 || !strings.Contains(out, "FAIL  tests.yaml: wrong") || !strings.Contains(out, "verdict deny, want allow") {
		t.Errorf("failing test: %d\n%s", code, out)
	}
	code, out, _ = run(t, "policy", "check", "../../examples/policy/baseline.yaml")
	if code != 0 || !strings.Contains(out, `policy "baseline" is valid`) || !strings.Contains(out, "signed-by-ci") {
		t.Errorf("check: %d\n%s", code, out)
	}
}

// The binary itself: exit codes as CI sees them.
func TestGateBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "safeguard")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/safeguard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	gw := newGateWorld(t)
	for ref, want := range map[string]int{gw.w.Refs["signed-clean"]: 0, gw.w.Refs["unsigned-clean"]: 1, gw.w.Refs["vulnerable"]: 1} {
		cmd := exec.Command(bin, "gate", "--policy", gw.policy, "--insecure", "--env", "production",
			"--feed", "../../"+gatetest.FeedFiles[0], "--feed", "../../"+gatetest.FeedFiles[1], ref)
		cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=")
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Errorf("%s: exit %d, want %d\n%s", ref, code, want, out)
		}
	}
	cmd := exec.Command(bin, "policy", "check", "/nonexistent.yaml")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("policy check of a missing file: %v", err)
	}
}

// policy check shows waivers as active or expired at the clock's time.
func TestPolicyCheckShowsExpiredWaivers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte(`version: 1
name: w
rules: [{type: sbom}]
waivers:
  - {rule: sbom, owner: a@acme, reason: old, expires: 2026-11-30}
  - {rule: sbom, owner: b@acme, reason: current, expires: 2026-12-31}
  - {rule: sbom, owner: c@acme, reason: forever, permanent: true}
`), 0o644)
	code, out, _ := run(t, "policy", "check", p) // the clock is 2026-12-01
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"waiver EXPIRED: rule sbom (owner a@acme, through 2026-11-30: old)", "waiver active: rule sbom (owner b@acme", "waiver active: rule sbom (owner c@acme, permanent: forever)"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

// C78 through the CLI: both criticals waived → exit 0, shown as suppressed;
// after the waiver's expiry the same image is denied and the waiver shows
// as expired.
func TestGateWaiversInTheCLI(t *testing.T) {
	gw := newGateWorld(t)
	p := filepath.Join(gw.w.Dir, "waivers.yaml")
	os.WriteFile(p, []byte(`version: 1
name: waivers
rules:
  - {name: kev-critical, type: vulnerabilities, with: {severity: critical, kev: true}}
waivers:
  - {vulnerability: CVE-2020-1938, owner: sec@acme.example, reason: AJP connector disabled, expires: 2026-12-31}
`), 0o644)
	code, out, errs := gw.gate(t, nil, "--policy", p, gw.w.Refs["vulnerable"])
	if code != 0 || strings.Count(out, "~ kev-critical suppressed through 2026-12-31 by sec@acme.example: GHSA-c9hw-wf7x-jp9j (CVE-2020-1938)") != 2 {
		t.Errorf("waived: exit %d\n%s%s", code, out, errs)
	}
	var later bytes.Buffer
	e := &env{stdout: &later, stderr: io.Discard, now: func() time.Time { return time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC) }, getenv: func(string) string { return "" }}
	code = e.run(context.Background(), []string{"gate", "--db", gw.db, "--policy", p, "--insecure", gw.w.Refs["vulnerable"]})
	if code != 1 || !strings.Contains(later.String(), "~ expired CVE-2020-1938 (owner sec@acme.example, through 2026-12-31: AJP connector disabled)") {
		t.Errorf("after expiry: exit %d\n%s", code, later.String())
	}
}

// A registry that keeps failing is unreachable after a few quick tries,
// not after the crawl's five: the decision says so well inside its budget
// (the count of requests, not the time, is what is checked).
func TestGateGivesUpOnAFailingRegistry(t *testing.T) {
	var requests atomic.Int64
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	gw := newGateWorld(t)
	ref := strings.TrimPrefix(sick.URL, "http://") + "/acme/app:1.0"
	code, out, _ := gw.gate(t, nil, "--budget", "30s", "--format", "json", ref)
	if code != ExitFail || !strings.Contains(out, `"incomplete": "registry_unreachable"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
	// One version check and one HEAD, each tried three times.
	if n := requests.Load(); n > 6 {
		t.Errorf("%d requests to a registry answering 503, want at most 6", n)
	}
}
