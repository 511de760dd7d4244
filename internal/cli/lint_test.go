package cli

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const lintDir = "testdata/lint/"

func TestLintGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		code int
	}{
		{"go-multistage", ExitOK},
		{"node-app", ExitFail},
		{"typosquat", ExitFail},
	} {
		for _, format := range []string{"text", "json", "sarif"} {
			t.Run(tc.file+"/"+format, func(t *testing.T) {
				code, out, errOut := run(t, "lint", "--format", format, lintDir+tc.file+".Dockerfile")
				if code != tc.code {
					t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
				}
				if errOut != "" {
					t.Errorf("stderr %q", errOut)
				}
				golden(t, "lint-"+tc.file+"."+format, out)
			})
		}
	}
}

type lintJSON struct {
	Files []struct {
		File       string `json:"file"`
		Stages     int    `json:"stages"`
		References int    `json:"references"`
		Findings   int    `json:"findings"`
	} `json:"files"`
	Findings []struct {
		File, Stage, Instruction, Reference, Written, Kind, Message, Resembles, Suggestion string
		Line                                                                               int
	} `json:"findings"`
	Summary struct {
		Files, Stages, References, Findings int
		ByKind                              map[string]int `json:"by_kind"`
	} `json:"summary"`
}

func lintDoc(t *testing.T, out string) lintJSON {
	t.Helper()
	var doc lintJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return doc
}

// The typosquatted Dockerfile: each reference gets the finding it deserves,
// on its line, with what it resembles and the intended reference.
func TestLintTyposquatFindings(t *testing.T) {
	code, out, _ := run(t, "lint", "--format", "json", "--allow-unpinned", lintDir+"typosquat.Dockerfile")
	if code != ExitFail {
		t.Fatalf("exit %d", code)
	}
	doc := lintDoc(t, out)
	type key struct {
		line      int
		kind      string
		resembles string
		sugg      string
	}
	var got []key
	for _, f := range doc.Findings {
		if f.File != lintDir+"typosquat.Dockerfile" || f.Message == "" {
			t.Errorf("finding %+v", f)
		}
		got = append(got, key{f.Line, f.Kind, f.Resembles, f.Suggestion})
	}
	want := []key{
		{5, "typosquat-name", "ubuntu", "ubuntu:20.04"},
		{8, "unknown-tag", "alpine:3.15", "alpine:3.15"},
		{9, "lookalike-registry", "ghcr.io", "ghcr.io/acme/tool:1.0"},
		{11, "typosquat-namespace", "jwilder/nginx-proxy", "jwilder/nginx-proxy:1.6"},
		{12, "impersonation", "ubuntu", "ubuntu:22.04"},
		{13, "lookalike-registry", "gcr.io", "gcr.io/distroless/static:nonroot"},
		{14, "malformed", "", ""},
		{15, "unresolved-arg", "", ""},
		{16, "typosquat-name", "busybox", "busybox:1.36"},
	}
	if len(got) != len(want) {
		t.Fatalf("findings %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if doc.Summary.Files != 1 || doc.Summary.Stages != 8 || doc.Summary.Findings != len(want) || doc.Summary.ByKind["lookalike-registry"] != 2 {
		t.Errorf("summary %+v", doc.Summary)
	}
	// --build-arg gives BASE a value: it is checked instead of reported.
	_, out, _ = run(t, "lint", "--format", "json", "--allow-unpinned", "--build-arg", "BASE=alpine:3.20", "--build-arg", "ALPINE=3.20", lintDir+"typosquat.Dockerfile")
	doc = lintDoc(t, out)
	for _, f := range doc.Findings {
		if f.Kind == "unresolved-arg" || f.Kind == "unknown-tag" {
			t.Errorf("build args ignored: %+v", f)
		}
	}
}

func TestLintSARIFShape(t *testing.T) {
	_, out, _ := run(t, "lint", "--format", "sarif", lintDir+"typosquat.Dockerfile", lintDir+"node-app.Dockerfile")
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("sarif %+v", log)
	}
	rules := map[string]bool{}
	for _, r := range log.Runs[0].Tool.Driver.Rules {
		if rules[r.ID] {
			t.Errorf("rule %s twice", r.ID)
		}
		rules[r.ID] = true
	}
	files := map[string]bool{}
	for _, r := range log.Runs[0].Results {
		if !rules[r.RuleID] {
			t.Errorf("result for undeclared rule %s", r.RuleID)
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.Region.StartLine < 1 {
			t.Errorf("result without a line: %+v", r)
		}
		files[loc.ArtifactLocation.URI] = true
	}
	if !files[lintDir+"typosquat.Dockerfile"] || !files[lintDir+"node-app.Dockerfile"] || !rules["typosquat-name"] || !rules["latest"] {
		t.Errorf("files %v rules %v", files, rules)
	}
}

func TestLintBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(bad, []byte("FROM alpine:3.20\n\nFORM ubuntu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lint", filepath.Join(dir, "missing")}, "missing: no such file or directory"},
		{[]string{"lint", lintDir + "node-app.Dockerfile", bad}, bad + ":3: unknown instruction: FORM"},
		{[]string{"lint", dir}, "is a directory"},
		{[]string{"lint", "--format", "xml", bad}, `unknown --format "xml"`},
		{[]string{"lint", "--build-arg", "NOVALUE", bad}, `--build-arg "NOVALUE": want KEY=VALUE`},
		{[]string{"lint", "--approved-base", "Node:20", bad}, "lowercase"},
		{[]string{"lint", "--org-registry", "my_reg.corp", bad}, "'_'"},
		{[]string{"lint", "--registry-mirror", "docker.io=x", bad}, "needs --online"},
		{[]string{"lint"}, "requires at least 1 arg"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != ExitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout on bad input: %q", tc.args, out)
		}
	}
}

func TestLintOrganisationFlags(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	src := "FROM registry.acme.corp/base/node:20\nFROM registry.acrne.corp/base/node:20\nFROM acmeinc/builder:1\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "lint", "--format", "json", "--allow-unpinned", "--org-registry", "registry.acme.corp", "--org-registry", "docker.io/acmeinc", "--approved-base", "registry.acme.corp/base/node", p)
	doc := lintDoc(t, out)
	if code != ExitFail || len(doc.Findings) != 1 || doc.Findings[0].Line != 2 || doc.Findings[0].Kind != "lookalike-registry" || doc.Findings[0].Resembles != "registry.acme.corp" {
		t.Errorf("exit %d findings %+v", code, doc.Findings)
	}
	// Without the organisation's registries, registry.acrne.corp is just
	// another registry: nothing to compare it with.
	_, out, _ = run(t, "lint", "--format", "json", "--allow-unpinned", p)
	if doc := lintDoc(t, out); len(doc.Findings) != 0 {
		t.Errorf("findings without org flags: %+v", doc.Findings)
	}
}

// --online lists tags from the registry (here an in-memory registry standing
// in for Docker Hub through --registry-mirror).
func TestLintOnline(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"3.15", "3.20"} {
		ref, err := name.NewTag(host + "/library/alpine:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("FROM alpine:3.20\nFROM alpine:3.19\nFROM alpine:3.154\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := run(t, "lint", "--format", "json", "--allow-unpinned", "--online", "--registry-mirror", "docker.io="+host, p)
	doc := lintDoc(t, out)
	if len(doc.Findings) != 2 || doc.Findings[0].Line != 2 || doc.Findings[1].Line != 3 || doc.Findings[1].Suggestion != "alpine:3.15" ||
		!strings.Contains(doc.Findings[0].Message, "tag list") {
		t.Errorf("online findings %+v (%s)", doc.Findings, errOut)
	}
	// Offline, 3.19 fits alpine's release pattern.
	_, out, _ = run(t, "lint", "--format", "json", "--allow-unpinned", p)
	if doc := lintDoc(t, out); len(doc.Findings) != 1 || doc.Findings[0].Line != 3 {
		t.Errorf("offline findings %+v", doc.Findings)
	}
}

// A Dockerfile's text is echoed in findings and errors; escape sequences in
// it reach the report escaped, never as commands to the terminal.
func TestLintEscapesTerminalControls(t *testing.T) {
	dir := t.TempDir()
	finding := filepath.Join(dir, "finding.Dockerfile")
	parseErr := filepath.Join(dir, "error.Dockerfile")
	os.WriteFile(finding, []byte("FROM \x1b]0;pwned\x07ubuntu\u202e:22.04\n"), 0o644)
	os.WriteFile(parseErr, []byte("\x1b[2J\x1b[31mFROM ubuntu\n"), 0o644)
	for _, c := range []struct {
		file, want string
		stderr     bool
	}{
		{finding, `FROM \u001b]0;pwned\u0007ubuntu\u202e:22.04`, false},
		{parseErr, `unknown instruction: \u001b[2J\u001b[31mFROM`, true},
	} {
		_, out, errOut := run(t, "lint", c.file)
		got := out
		if c.stderr {
			got = errOut
		}
		if strings.ContainsAny(out+errOut, "\x1b\x07\u202e") || !strings.Contains(got, c.want) {
			t.Errorf("%s:\nstdout %q\nstderr %q\nwant …%s…", c.file, out, errOut, c.want)
		}
	}
}
