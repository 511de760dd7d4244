package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy tests let a team change its policy with confidence: a test file
// (YAML or JSON) names the policy (relative to the file) and lists cases,
// each with hand-written facts, a deployment context and the expected
// verdict and violated rules.
//
//	policy: ../baseline.yaml
//	cases:
//	  - name: critical KEV in production is denied
//	    now: 2026-06-01T00:00:00Z        # optional; default the runner's clock
//	    input: {environment: production}
//	    facts: {digest: "sha256:…", reference: {raw: "registry.acme.corp/app@sha256:…"}, …}
//	    expect:
//	      verdict: deny
//	      violations: [kev-critical]     # the exact set of violated rules (all modes)
//	      suppressed: [CVE-2021-44228]   # optional: waived findings or rules
type TestFile struct {
	Path   string     `json:"-"`
	Policy string     `json:"policy,omitempty"`
	Cases  []TestCase `json:"cases"`
}

// TestCase is one policy test.
type TestCase struct {
	Name   string     `json:"name"`
	Now    time.Time  `json:"now,omitzero"`
	Input  Deployment `json:"input"`
	Facts  Facts      `json:"facts"`
	Expect Expect     `json:"expect"`
}

// Expect is what a policy test wants.
type Expect struct {
	Verdict    string   `json:"verdict"`
	Violations []string `json:"violations"`
	Suppressed []string `json:"suppressed,omitempty"`
}

// TestOutcome is one case's result.
type TestOutcome struct {
	File     string   `json:"file"`
	Name     string   `json:"name"`
	Pass     bool     `json:"pass"`
	Problems []string `json:"problems,omitempty"`
	Result   Result   `json:"result"`
}

// LoadTestFile reads and validates a policy test file.
func LoadTestFile(path string) (TestFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return TestFile{}, err
	}
	var generic any
	ydec := yaml.NewDecoder(bytes.NewReader(data))
	if err := ydec.Decode(&generic); err != nil {
		if errors.Is(err, io.EOF) {
			return TestFile{}, fmt.Errorf("%s: empty file", path)
		}
		return TestFile{}, fmt.Errorf("%s: %w", path, err)
	}
	var extra any
	if err := ydec.Decode(&extra); !errors.Is(err, io.EOF) {
		return TestFile{}, fmt.Errorf("%s: more than one YAML document ('---'): the cases after the first would never run", path)
	}
	if m, ok := generic.(map[string]any); ok {
		_, rules := m["rules"]
		_, cases := m["cases"]
		if rules && !cases {
			return TestFile{}, fmt.Errorf("%s: this is a policy, not a policy test file (every *.yaml, *.yml and *.json in the directory is read as tests); keep the policy outside the tests directory", path)
		}
	}
	raw, err := json.Marshal(jsonable(generic))
	if err != nil {
		return TestFile{}, fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var tf TestFile
	if err := dec.Decode(&tf); err != nil {
		return TestFile{}, fmt.Errorf("%s: %w", path, err)
	}
	tf.Path = path
	if len(tf.Cases) == 0 {
		return tf, fmt.Errorf("%s: no cases", path)
	}
	for i, c := range tf.Cases {
		if c.Name == "" {
			return tf, fmt.Errorf("%s: cases[%d]: name is required", path, i)
		}
		if c.Expect.Verdict != Allow && c.Expect.Verdict != Deny {
			return tf, fmt.Errorf("%s: case %q: expect.verdict must be allow or deny, not %q", path, c.Name, c.Expect.Verdict)
		}
	}
	return tf, nil
}

// jsonable turns YAML's map[any]any (from non-string keys) into JSON maps.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		m := map[string]any{}
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
	}
	return v
}

// Run evaluates one case under p.
func (p *Policy) Run(c TestCase, now time.Time) TestOutcome {
	if !c.Now.IsZero() {
		now = c.Now
	}
	res := p.Evaluate(c.Facts, c.Input, now)
	out := TestOutcome{Name: c.Name, Result: res}
	if res.Verdict != c.Expect.Verdict {
		out.Problems = append(out.Problems, fmt.Sprintf("verdict %s, want %s", res.Verdict, c.Expect.Verdict))
	}
	got := res.ViolatedRules()
	want := slices.Clone(c.Expect.Violations)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		out.Problems = append(out.Problems, fmt.Sprintf("violated rules [%s], want [%s]", strings.Join(got, ", "), strings.Join(want, ", ")))
	}
	if len(c.Expect.Suppressed) > 0 {
		var sup []string
		for _, s := range res.Suppressed {
			if s.Finding != "" {
				sup = append(sup, s.Finding)
			} else {
				sup = append(sup, s.Rule)
			}
		}
		sort.Strings(sup)
		want := slices.Clone(c.Expect.Suppressed)
		sort.Strings(want)
		if !slices.Equal(sup, want) {
			out.Problems = append(out.Problems, fmt.Sprintf("suppressed [%s], want [%s]", strings.Join(sup, ", "), strings.Join(want, ", ")))
		}
	}
	out.Pass = len(out.Problems) == 0
	return out
}

// RunTests runs every *.yaml, *.yml and *.json test file in dir (not
// recursive). With p nil each file's policy is loaded (relative to the
// file); with p set, p is used for every file.
func RunTests(dir string, p *Policy, now time.Time) ([]TestOutcome, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []TestOutcome
	files := 0
	cache := map[string]*Policy{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		tf, err := LoadTestFile(path)
		if err != nil {
			return out, err
		}
		files++
		pol := p
		if pol == nil {
			if tf.Policy == "" {
				return out, fmt.Errorf("%s: no policy: name it in the file (policy: ../policy.yaml) or pass one", path)
			}
			pp := tf.Policy
			if !filepath.IsAbs(pp) {
				pp = filepath.Join(dir, pp)
			}
			if pol = cache[pp]; pol == nil {
				if pol, err = Load(pp); err != nil {
					return out, fmt.Errorf("%s: %w", path, err)
				}
				cache[pp] = pol
			}
		}
		for _, c := range tf.Cases {
			o := pol.Run(c, now)
			o.File = path
			out = append(out, o)
		}
	}
	if files == 0 {
		return nil, errors.New(dir + ": no policy test files (*.yaml, *.yml, *.json)")
	}
	return out, nil
}
