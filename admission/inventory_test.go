package admission

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// Admitted top-level workloads land in the real store with the digests the
// gate evaluated; owned Pods, the mutating pass, dry runs and denials do
// not; DELETE removes the workload.
func TestInventoryRecording(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := Config{Cluster: "eu-1", Environments: []NamespaceEnvironment{{Namespace: "test-*", Environment: "staging"}}}
	w, err := New(Options{Evaluator: corpusGate(), Config: cfg, Inventory: st})
	if err != nil {
		t.Fatal(err)
	}
	run := func(file string, mutate bool) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", "connaisseur", file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Review(ctx, body, mutate); err != nil {
			t.Fatal(err)
		}
	}
	run("01_deployment.json", true)          // mutating pass: not recorded
	run("02_pod.json", false)                // owned by a ReplicaSet: its owner is the workload
	run("27_deleted_deployment.json", false) // denied
	run("01_deployment.json", false)
	ds, err := st.Deployments(ctx, store.DeploymentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("recorded %+v, want the one Deployment", ds)
	}
	d := ds[0]
	if d.Cluster != "eu-1" || d.Namespace != "test-connaisseur" || d.Kind != "Deployment" || d.Workload != "charlie-deployment" ||
		d.Container != "test-connaisseur" || d.Digest != "sha256:"+hexA || d.Environment != "staging" || d.Path != "spec.template.spec.containers[0]" {
		t.Errorf("recorded %+v", d)
	}
	del := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d-1","kind":{"group":"apps","version":"v1","kind":"Deployment"},
		"namespace":"test-connaisseur","name":"charlie-deployment","operation":"DELETE","oldObject":null}}`)
	if out, err := w.Review(ctx, del, false); err != nil || !out.Response.Allowed {
		t.Fatalf("DELETE: %v %+v", err, out)
	}
	if ds, _ := st.Deployments(ctx, store.DeploymentFilter{}); len(ds) != 0 {
		t.Errorf("after DELETE: %+v", ds)
	}
}

// fakeCluster is the outside world a reconciliation lists.
type fakeCluster []store.WorkloadKey

func (f fakeCluster) RunningWorkloads(context.Context) ([]store.WorkloadKey, error) { return f, nil }

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{"web", "gone"} {
		st.PutWorkload(ctx, store.Workload{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: name},
			Containers: []store.DeployedContainer{{Name: "c", Path: "spec.template.spec.containers[0]", Image: "x", Digest: "sha256:x"}}})
	}
	if _, err := Reconcile(ctx, "eu-1", fakeCluster{}, st); !errors.Is(err, ErrEmptyListing) {
		t.Errorf("empty listing: %v", err)
	}
	n, err := Reconcile(ctx, "eu-1", fakeCluster{{Namespace: "shop", Kind: "Deployment", Name: "web"}}, st)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	ds, _ := st.Deployments(ctx, store.DeploymentFilter{})
	if len(ds) != 1 || ds[0].Workload != "web" {
		t.Errorf("left %+v", ds)
	}
}
