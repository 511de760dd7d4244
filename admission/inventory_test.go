package admission

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// failingInventory is the real store whose deletes fail, as a store that
// is locked or gone would.
type failingInventory struct{ *sqlite.Store }

func (failingInventory) DeleteWorkload(context.Context, store.WorkloadKey) error {
	return errors.New("database is locked")
}

// The inventory webhook's DELETE is always allowed — whatever the kind or
// object, and when the store fails — and a dry-run delete removes nothing.
func TestInventoryDeleteAllowedAndDryRunKeeps(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"}
	if err := st.PutWorkload(ctx, store.Workload{WorkloadKey: key, Containers: []store.DeployedContainer{{Name: "c", Path: "spec.template.spec.containers[0]", Image: "x", Digest: "sha256:x"}}}); err != nil {
		t.Fatal(err)
	}
	del := func(kind, dryRun, old string) []byte {
		return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d-1","kind":{"group":"apps","version":"v1","kind":"` + kind +
			`"},"namespace":"shop","name":"web","operation":"DELETE","dryRun":` + dryRun + `,"oldObject":` + old + `}}`)
	}
	left := func() int {
		t.Helper()
		ds, err := st.Deployments(ctx, store.DeploymentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	for _, inv := range []Recorder{failingInventory{st}, st} {
		w, err := New(Options{Evaluator: corpusGate(), Config: Config{Cluster: "eu-1"}, Inventory: inv})
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range [][]byte{
			del("Deployment", "true", `{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"evil:1"}]}}}}`),
			del("Thing", "true", `"not an object"`),
		} {
			out, err := w.Review(ctx, body, false)
			if err != nil || !out.Response.Allowed {
				t.Fatalf("dry-run DELETE: %v %+v", err, out)
			}
		}
		if n := left(); n != 1 {
			t.Fatalf("a dry-run DELETE removed the workload: %d left", n)
		}
		out, err := w.Review(ctx, del("Deployment", "false", "null"), false)
		if err != nil || !out.Response.Allowed {
			t.Fatalf("DELETE with %T: %v %+v", inv, err, out)
		}
	}
	if n := left(); n != 0 {
		t.Errorf("after the DELETE: %d left", n)
	}
}

// deleteCounting is the real store, counting the deletes it is asked for.
type deleteCounting struct {
	*sqlite.Store
	deletes int
}

func (c *deleteCounting) DeleteWorkload(ctx context.Context, k store.WorkloadKey) error {
	c.deletes++
	return c.Store.DeleteWorkload(ctx, k)
}

// Most deletions are of Pods and ReplicaSets a controller owns, which were
// never recorded: they cost no store write. A bare Pod's deletion, and one
// whose old object cannot be read, remove the workload.
func TestInventoryDeleteOfOwnedObjectsWritesNothing(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := &deleteCounting{Store: st}
	w, err := New(Options{Evaluator: corpusGate(), Config: Config{Cluster: "eu-1"}, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"debug", "odd"} {
		if err := st.PutWorkload(ctx, store.Workload{WorkloadKey: store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Pod", Name: name},
			Containers: []store.DeployedContainer{{Name: "c", Path: "spec.containers[0]", Image: "x", Digest: "sha256:x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(name, old string) {
		t.Helper()
		body := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d-1","kind":{"group":"","version":"v1","kind":"Pod"},` +
			`"namespace":"shop","name":"` + name + `","operation":"DELETE","oldObject":` + old + `}}`)
		out, err := w.Review(ctx, body, false)
		if err != nil || !out.Response.Allowed {
			t.Fatalf("DELETE %s: %v %+v", name, err, out)
		}
	}
	del("web-5d9-abc", `{"metadata":{"name":"web-5d9-abc","ownerReferences":[{"kind":"ReplicaSet","name":"web-5d9","controller":true}]}}`)
	if inv.deletes != 0 {
		t.Errorf("%d store deletes for a ReplicaSet's Pod", inv.deletes)
	}
	del("debug", `{"metadata":{"name":"debug","ownerReferences":[{"kind":"Node","name":"n1"}]}}`) // an owner, not a controller
	del("odd", `{"metadata":"not metadata"}`)
	if inv.deletes != 2 {
		t.Errorf("%d store deletes, want 2 (debug, odd)", inv.deletes)
	}
	if ds, _ := st.Deployments(ctx, store.DeploymentFilter{}); len(ds) != 0 {
		t.Errorf("left %+v", ds)
	}
}

// fakeCluster is the outside world a reconciliation lists.
type fakeCluster []store.WorkloadKey

func (f fakeCluster) DeployedWorkloads(context.Context) ([]store.WorkloadKey, error) { return f, nil }

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

// countingInventory is the real store, counting the writes it is asked for.
type countingInventory struct {
	*sqlite.Store
	puts int
}

func (c *countingInventory) PutWorkload(ctx context.Context, w store.Workload) error {
	c.puts++
	return c.Store.PutWorkload(ctx, w)
}

// An identical re-admission within recordRefresh is not written again; a
// changed workload, a later one and one re-created after DELETE are; the
// last-seen time moves on each write.
func TestInventoryCoalescesIdenticalWrites(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := &countingInventory{Store: st}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	w, err := New(Options{Evaluator: corpusGate(), Config: Config{Cluster: "eu-1"}, Inventory: inv, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join("testdata", "connaisseur", "01_deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	review := func() {
		t.Helper()
		if _, err := w.Review(ctx, body, false); err != nil {
			t.Fatal(err)
		}
	}
	review()
	now = now.Add(10 * time.Second)
	review()
	if inv.puts != 1 {
		t.Fatalf("%d writes for two identical admissions 10 s apart, want 1", inv.puts)
	}
	now = now.Add(recordRefresh)
	review()
	if inv.puts != 2 {
		t.Fatalf("%d writes after the refresh interval, want 2", inv.puts)
	}
	ds, _ := st.Deployments(ctx, store.DeploymentFilter{})
	if len(ds) != 1 || !ds[0].LastSeen.Equal(now) {
		t.Fatalf("last seen %+v, want %s", ds, now)
	}
	// A changed image is written at once.
	changed := bytes.Replace(body, []byte(`alice-image:test`), []byte(`sample-san-sama:hai`), 1)
	if bytes.Equal(changed, body) {
		t.Fatal("fixture has no image field to change")
	}
	if _, err := w.Review(ctx, changed, false); err != nil {
		t.Fatal(err)
	}
	if inv.puts != 3 {
		t.Fatalf("%d writes after the image changed, want 3", inv.puts)
	}
}

// An UPDATE of a workload being deleted (the garbage collector removing
// its foregroundDeletion or orphan finalizer, after the DELETE the
// inventory webhook was told of) does not record it again: the object is
// on its way out, and no DELETE follows to forget it.
func TestInventoryUpdateOfDeletedWorkloadNotRecorded(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := New(Options{Evaluator: corpusGate(), Config: Config{Cluster: "eu-1"}, Inventory: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"01_deployment.json", "28_deleted_deployment_updated.json", "29_deleted_deployment_update_for_delete.json"} {
		if file != "01_deployment.json" {
			del := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"d-1","kind":{"group":"apps","version":"v1","kind":"Deployment"},
				"namespace":"test-connaisseur","name":"charlie-deployment","operation":"DELETE","oldObject":null}}`)
			if out, err := w.Review(ctx, del, false); err != nil || !out.Response.Allowed {
				t.Fatalf("DELETE: %v %+v", err, out)
			}
		}
		body, err := os.ReadFile(filepath.Join("testdata", "connaisseur", file))
		if err != nil {
			t.Fatal(err)
		}
		out, err := w.Review(ctx, body, false)
		if err != nil || !out.Response.Allowed {
			t.Fatalf("%s: %v %+v", file, err, out)
		}
		ds, err := st.Deployments(ctx, store.DeploymentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[file == "01_deployment.json"]; len(ds) != want {
			t.Errorf("after %s: %d rows, want %d", file, len(ds), want)
		}
	}
}
