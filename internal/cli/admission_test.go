package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func TestAdmissionManifests(t *testing.T) {
	code, out, errOut := run(t, "admission", "manifests", "--cert-manager", "--namespace", "guard")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "admission-manifests-cert-manager.yaml", out)
	code, out, errOut = run(t, "admission", "manifests", "--ca-bundle", "testdata/admission/ca.crt")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "admission-manifests-ca-bundle.yaml", out)
	code, out, errOut = run(t, "admission", "manifests", "--cert-manager", "--no-cluster-access")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "admission-manifests-no-cluster-access.yaml", out)
	for _, args := range [][]string{
		{"admission", "manifests"},
		{"admission", "manifests", "--cert-manager", "--ca-bundle", "testdata/admission/ca.crt"},
		{"admission", "manifests", "--ca-bundle", "testdata/admission/25_null_request.json"},
		{"admission", "manifests", "--cert-manager", "--timeout", "60"},
	} {
		if code, out, _ := run(t, args...); code != ExitError || out != "" {
			t.Errorf("%v: exit %d, output %q; want 2 and nothing written", args, code, out)
		}
	}
}

func TestAdmissionReviewInput(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	code, out, errOut := run(t, "admission", "review", "--db", db, "testdata/admission/25_null_request.json")
	if code != ExitError || out != "" || !strings.Contains(errOut, "25_null_request.json: malformed AdmissionReview") {
		t.Errorf("malformed: exit %d %q %q", code, out, errOut)
	}
	code, _, errOut = run(t, "admission", "review", "--db", db, "testdata/admission/missing.json")
	if code != ExitError || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
	// Without a policy file the gate cannot be built; the error names the file.
	code, _, errOut = run(t, "admission", "review", "--db", db, "--policy", filepath.Join(t.TempDir(), "none.yaml"), "testdata/admission/01_deployment.json")
	if code != ExitError || !strings.Contains(errOut, "none.yaml") {
		t.Errorf("no policy: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "admission", "serve", "--db", db, "--cert", "x.crt"); code != ExitError || !strings.Contains(errOut, "--key") {
		t.Errorf("serve without key: exit %d %q", code, errOut)
	}
}

func TestDeploymentsCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, w := range []store.Workload{
		{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"}, Environment: "production", At: at,
			Containers: []store.DeployedContainer{
				{Name: "app", Path: "spec.template.spec.containers[0]", Image: "registry.example.com/shop/web:2.1@" + digest, Digest: digest},
				{Name: "proxy", Path: "spec.template.spec.containers[1]", Image: "envoyproxy/envoy:v1.31", Digest: ""}}},
		{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "dev", Kind: "CronJob", Name: "report"}, Environment: "dev", At: at,
			Containers: []store.DeployedContainer{{Name: "job", Path: "spec.jobTemplate.spec.template.spec.containers[0]", Image: "registry.example.com/shop/web:2.1@" + digest, Digest: digest}}},
	} {
		if err := st.PutWorkload(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errOut := run(t, "deployments", "--db", db)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "deployments.txt", out)
	code, out, _ = run(t, "deployments", "--db", db, "--environment", "production", "--digest", digest, "--format", "json")
	if code != ExitOK || strings.Count(out, `"workload": "web"`) != 1 || strings.Contains(out, "report") {
		t.Errorf("filtered json: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "deployments", "--db", filepath.Join(t.TempDir(), "none.db")); code != ExitError {
		t.Errorf("missing store: exit %d", code)
	}
}
