package admission

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/safeguard-dev/safeguard/gate"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hexC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

func enforce(rule, msg string) gate.Violation {
	return gate.Violation{Rule: rule, Mode: gate.ModeEnforce, Message: msg}
}

func allowed(digest string, vs ...gate.Violation) answer {
	return answer{digest: digest, verdict: gate.Allow, violations: vs}
}

func denied(digest string, vs ...gate.Violation) answer {
	return answer{digest: digest, verdict: gate.Deny, violations: vs}
}

const unsigned = "image has no signature from a trusted signer"

// corpusGate answers for the images of the connaisseur requests the way a
// "signed images only" policy would: the deny-me, busybox, nginx and mysql
// images are unsigned.
func corpusGate() *tableGate {
	charlie := "securesystemsengineering/charlie-image@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"
	return &tableGate{table: map[string]answer{
		"securesystemsengineering/alice-image:test": allowed("sha256:" + hexA),
		charlie: allowed("sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"),
		"securesystemsengineering/sample-san-sama:hai": allowed("sha256:"+hexB, gate.Violation{Rule: "max-age", Mode: gate.ModeWarn, Message: "image is 412 days old"}),
		"busybox": denied("sha256:"+hexC, enforce("signed", unsigned), enforce("no-latest", "the tag is latest (implicit)")),
		"nginx":   denied("sha256:"+hexC, enforce("signed", unsigned), enforce("no-latest", "the tag is latest (implicit)")),
		"quay.io/fluentd_elasticsearch/fluentd:v2.5.2": allowed("sha256:" + hexA),
		"registry.k8s.io/nginx-slim:0.8":               allowed("sha256:" + hexA),
		"perl:5.34.0":                                  allowed("sha256:"+hexB, gate.Violation{Rule: "kev", Mode: gate.ModeAudit, Message: "1 known-exploited finding"}),
		"busybox:1.32":                                 allowed("sha256:" + hexA),
		"redis:alpine":                                 allowed("sha256:" + hexB),
		"mysql:8":                                      denied("sha256:"+hexC, enforce("signed", unsigned)),
		"docker.io/library/redis:latest@sha256:1111111111111111111111111111111111111111111111111111111111111111": allowed("sha256:1111111111111111111111111111111111111111111111111111111111111111"),
		"my.reg/deny-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff":                 denied("sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff", enforce("signed", unsigned)),
		"my.reg/allow-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff":                allowed("sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"),
		"test-image": allowed("sha256:" + hexB),
		"securesystemsengineering/alice-image@sha256:1234567890123456123456789012345612345678901234561234567890123456":      allowed("sha256:1234567890123456123456789012345612345678901234561234567890123456"),
		"securesystemsengineering/alice-image:test@sha256:1234567890123456123456789012345612345678901234561234567890123456": allowed("sha256:1234567890123456123456789012345612345678901234561234567890123456"),
		// The real-world cases.
		"registry.example.com/acme/app@sha256:" + hexA:                      allowed("sha256:" + hexA),
		"docker.io/library/busybox:1.30":                                    denied("sha256:"+hexC, enforce("signed", unsigned)),
		"registry.example.com/acme/debug@sha256:" + strings.Repeat("d", 64): allowed("sha256:" + strings.Repeat("d", 64)),
		"registry1.example.com/app:1.0.0":                                   allowed("sha256:" + hexA),
		"unknown.example.net/tools:latest":                                  denied("sha256:"+hexB, enforce("approved-registries", "registry unknown.example.net is not approved")),
		"registry.example.com/acme/job:1.0":                                 denied("sha256:"+hexB, enforce("signed", unsigned)),
	}}
}

func newWebhook(t testing.TB, g Evaluator, cfg Config) *Webhook {
	t.Helper()
	w, err := New(Options{Evaluator: g, Config: cfg, Now: func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./admission -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test ./admission -update, then review the diff)\n--- got ---\n%s", name, got)
	}
}

// requestUID reads the uid the request carries, independently of the
// decoder under test.
func requestUID(t *testing.T, body []byte) string {
	var v struct {
		Request *struct {
			UID string `json:"uid"`
		} `json:"request"`
	}
	_ = json.Unmarshal(body, &v)
	if v.Request == nil {
		return ""
	}
	return v.Request.UID
}

// TestConnaisseurCorpus runs every request of the connaisseur corpus
// through both webhooks: well-formed answers echo the uid and allow or
// deny as the table policy says; malformed ones are ErrMalformed (the
// handler's 400) or a denial with a reason.
func TestConnaisseurCorpus(t *testing.T) {
	cases := []struct {
		file      string
		malformed bool
		allow     bool
		contains  []string // in the denial message, or in the warnings when allowed
		patches   int      // JSON patch operations from the mutating webhook
	}{
		{file: "01_deployment.json", allow: true, patches: 1},
		{file: "02_pod.json", allow: true},
		{file: "03_replicaset.json", allow: true, contains: []string{"spec.template.spec.containers[0]", "max-age: image is 412 days old"}, patches: 1},
		{file: "04_cronjob.json", contains: []string{"spec.jobTemplate.spec.template.spec.containers[0] (yooob)", `"busybox"`, "rule signed", "rule no-latest"}},
		{file: "05_replication_controller.json", contains: []string{"ReplicationController connaisseur/nginx", "spec.template.spec.containers[0]", "rule signed"}},
		{file: "06_daemonset.json", allow: true, patches: 0}, // kube-system is exempt in this config
		{file: "07_statefulset.json", allow: true, patches: 1},
		{file: "08_job.json", allow: true, patches: 1},
		{file: "09_dply_multi_image.json", contains: []string{"spec.template.spec.containers[1] (mysql)", `"mysql:8"`}},
		{file: "10_update.json", allow: true}, // the update adds no image
		{file: "11_role.json", allow: true},
		{file: "12_err_pod.json", contains: []string{"cannot read the object", "Pod: object has no spec"}},
		{file: "13_unknown_parent.json", allow: true},
		{file: "14_deny_me_job.json", contains: []string{"my.reg/deny-me@sha256:91ac", "rule signed"}},
		{file: "15_allow_me_job.json", allow: true},
		{file: "16_mismatch_uid.json", allow: true},
		{file: "17_deny_me_pod.json", contains: []string{"spec.containers[0] (test-connaisseur)", "my.reg/deny-me"}},
		{file: "18_allow_me_pod.json", allow: true},
		{file: "19_pod_initcontainer.json", contains: []string{"spec.initContainers[0]", `"nginx"`}},
		{file: "20_pod_ephemeralcontainer.json", contains: []string{"spec.ephemeralContainers[0]", `"nginx"`}},
		{file: "21_broken_admission_request.json", malformed: true},
		{file: "22_allow_me_with_index_docker_io.json", allow: true, patches: 1},
		{file: "23_alice_digest_dpl.json", allow: true},
		{file: "24_alice_tag_digest_dpl.json", allow: true},
		{file: "25_null_request.json", malformed: true},
		{file: "26_broken_update_admission_request.json", malformed: true},
		{file: "27_deleted_deployment.json", contains: []string{"rule signed"}},
		{file: "28_deleted_deployment_updated.json", allow: true},
		{file: "29_deleted_deployment_update_for_delete.json", allow: true},
	}
	files, _ := filepath.Glob("testdata/connaisseur/*.json")
	if len(files) != len(cases) {
		t.Fatalf("%d corpus files, %d cases: every file needs a case", len(files), len(cases))
	}
	cfg := Config{Exempt: Exemptions{Namespaces: []string{"kube-system"}}}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "connaisseur", c.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, mutate := range []bool{false, true} {
				w := newWebhook(t, corpusGate(), cfg)
				out, err := w.Review(context.Background(), body, mutate)
				if c.malformed {
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("mutate=%v: err = %v, want ErrMalformed", mutate, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("mutate=%v: %v", mutate, err)
				}
				checkAnswer(t, body, out)
				r := out.Response
				if r.Allowed != c.allow {
					t.Fatalf("mutate=%v: allowed = %v, want %v (%+v)", mutate, r.Allowed, c.allow, r.Result)
				}
				text := strings.Join(r.Warnings, "\n")
				if !r.Allowed {
					text = r.Result.Message
				}
				for _, s := range c.contains {
					if !strings.Contains(text, s) {
						t.Errorf("mutate=%v: %q missing from %q", mutate, s, text)
					}
				}
				ops := patchOps(t, r.Patch)
				want := 0
				if mutate {
					want = c.patches
				}
				if len(ops) != want {
					t.Errorf("mutate=%v: %d patch operations, want %d: %s", mutate, len(ops), want, r.Patch)
				}
				js, _ := json.MarshalIndent(out, "", "  ")
				kind := "validate"
				if mutate {
					kind = "mutate"
				}
				golden(t, strings.TrimSuffix(c.file, ".json")+"."+kind+".json", append(js, '\n'))
			}
		})
	}
}

// checkAnswer: the response is an AdmissionReview of the request's own
// apiVersion with its uid, and a denial always says why.
func checkAnswer(t *testing.T, body []byte, out *admissionv1.AdmissionReview) {
	t.Helper()
	var req struct {
		APIVersion string `json:"apiVersion"`
	}
	_ = json.Unmarshal(body, &req)
	if out.APIVersion != req.APIVersion || out.Kind != "AdmissionReview" {
		t.Errorf("answered as %s %s, asked in %s", out.APIVersion, out.Kind, req.APIVersion)
	}
	if out.Response == nil || string(out.Response.UID) != requestUID(t, body) || out.Response.UID == "" {
		t.Fatalf("response uid %v, request uid %q", out.Response, requestUID(t, body))
	}
	if out.Request != nil {
		t.Error("the answer must not echo the request")
	}
	if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Message == "") {
		t.Error("a denial without a reason")
	}
	if (out.Response.Patch == nil) != (out.Response.PatchType == nil) {
		t.Error("patch and patchType must come together")
	}
}

func patchOps(t *testing.T, patch []byte) []patchOp {
	t.Helper()
	if patch == nil {
		return nil
	}
	var ops []patchOp
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatalf("patch is not a JSON patch: %v: %s", err, patch)
	}
	return ops
}

func reviewFile(t *testing.T, w *Webhook, path string, mutate bool) *admissionv1.AdmissionResponse {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.Review(context.Background(), body, mutate)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, body, out)
	return out.Response
}

// C68, C69: on the pods/ephemeralcontainers sub-resource only the added
// debug container is checked; the signed regular container is not
// re-evaluated.
func TestEphemeralSubresource(t *testing.T) {
	g := corpusGate()
	r := reviewFile(t, newWebhook(t, g, Config{}), "testdata/cases/c68_ephemeral_unsigned.json", false)
	if r.Allowed {
		t.Fatal("C68: unsigned ephemeral container admitted")
	}
	if !strings.Contains(r.Result.Message, `spec.ephemeralContainers[0] (debugger-x2k) image "docker.io/library/busybox:1.30": rule signed`) {
		t.Errorf("C68 message: %s", r.Result.Message)
	}
	g = corpusGate()
	r = reviewFile(t, newWebhook(t, g, Config{}), "testdata/cases/c69_ephemeral_signed.json", false)
	if !r.Allowed {
		t.Fatalf("C69: signed ephemeral container denied: %s", r.Result.Message)
	}
	if calls := g.callCount(); len(calls) != 1 || calls["registry.example.com/acme/debug@sha256:"+strings.Repeat("d", 64)] != 1 {
		t.Errorf("C69: evaluated %v, want only the added debug image", calls)
	}
}

// C71: initContainers are workload images; the denial names the path.
func TestInitContainerDenied(t *testing.T) {
	r := reviewFile(t, newWebhook(t, corpusGate(), Config{}), "testdata/cases/c71_init_container.json", false)
	if r.Allowed {
		t.Fatal("C71 admitted")
	}
	want := `safeguard denied Pod team-a/web: spec.initContainers[0] (setup) image "unknown.example.net/tools:latest": rule approved-registries: registry unknown.example.net is not approved`
	if r.Result.Message != want {
		t.Errorf("C71 message\n got %s\nwant %s", r.Result.Message, want)
	}
}

// C72: a CronJob's pod template is two levels down.
func TestCronJobTemplate(t *testing.T) {
	r := reviewFile(t, newWebhook(t, corpusGate(), Config{}), "testdata/cases/c72_cronjob.json", false)
	if r.Allowed || !strings.Contains(r.Result.Message, `spec.jobTemplate.spec.template.spec.containers[0] (job) image "registry.example.com/acme/job:1.0": rule signed`) {
		t.Errorf("C72: allowed=%v %+v", r.Allowed, r.Result)
	}
}
