package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// Deployments is the deployment-inventory surface.
type Deployments interface {
	PutWorkload(ctx context.Context, w store.Workload) error
	DeleteWorkload(ctx context.Context, k store.WorkloadKey) error
	RetainWorkloads(ctx context.Context, cluster string, running []store.WorkloadKey) (int, error)
	Deployments(ctx context.Context, f store.DeploymentFilter) ([]store.Deployment, error)
}

// RunDeployments runs the deployment-inventory part of the suite.
func RunDeployments(t *testing.T, open func(t *testing.T) Deployments) {
	t.Run("PutReplacesAndKeepsFirstSeen", func(t *testing.T) { testPutWorkload(t, open(t)) })
	t.Run("FiltersAndRetain", func(t *testing.T) { testDeploymentFilters(t, open(t)) })
}

func rowsOf(ds []store.Deployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s/%s/%s/%s %s %s %s %s %s..%s", d.Cluster, d.Namespace, d.Kind, d.Workload, d.Path, d.Container, d.Digest, d.Environment,
			d.FirstSeen.Format(time.TimeOnly), d.LastSeen.Format(time.TimeOnly)))
	}
	return out
}

func testPutWorkload(t *testing.T, s Deployments) {
	ctx := context.Background()
	key := store.WorkloadKey{Cluster: "eu-1", Namespace: "shop", Kind: "Deployment", Name: "web"}
	w := store.Workload{WorkloadKey: key, Environment: "production", At: t0, Containers: []store.DeployedContainer{
		{Name: "app", Path: "spec.template.spec.containers[0]", Image: "r/app:1@sha256:a1", Digest: "sha256:a1"},
		{Name: "proxy", Path: "spec.template.spec.containers[1]", Image: "r/proxy:2@sha256:p2", Digest: "sha256:p2"},
	}}
	if err := s.PutWorkload(ctx, w); err != nil {
		t.Fatal(err)
	}
	// An update an hour later: the app image changes, the proxy is removed.
	w.At = t0.Add(time.Hour)
	w.Containers = []store.DeployedContainer{{Name: "app", Path: "spec.template.spec.containers[0]", Image: "r/app:2@sha256:a2", Digest: "sha256:a2"}}
	if err := s.PutWorkload(ctx, w); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(must(s.Deployments(ctx, store.DeploymentFilter{})))
	want := []string{"eu-1/shop/Deployment/web spec.template.spec.containers[0] app sha256:a2 production 04:04:05..04:04:05"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after update %v\nwant %v", got, want)
	}
	// Re-admitting the same image keeps first_seen.
	w.At = t0.Add(2 * time.Hour)
	if err := s.PutWorkload(ctx, w); err != nil {
		t.Fatal(err)
	}
	got = rowsOf(must(s.Deployments(ctx, store.DeploymentFilter{})))
	want = []string{"eu-1/shop/Deployment/web spec.template.spec.containers[0] app sha256:a2 production 04:04:05..05:04:05"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after re-admission %v\nwant %v", got, want)
	}
	if err := s.DeleteWorkload(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ds := must(s.Deployments(ctx, store.DeploymentFilter{})); len(ds) != 0 {
		t.Errorf("after delete: %v", rowsOf(ds))
	}
}

func testDeploymentFilters(t *testing.T, s Deployments) {
	ctx := context.Background()
	put := func(cluster, ns, kind, name, env, digest string) {
		t.Helper()
		err := s.PutWorkload(ctx, store.Workload{WorkloadKey: store.WorkloadKey{Cluster: cluster, Namespace: ns, Kind: kind, Name: name}, Environment: env, At: t0,
			Containers: []store.DeployedContainer{{Name: "c", Path: "spec.containers[0]", Image: "img@" + digest, Digest: digest}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("eu-1", "shop", "Deployment", "web", "production", "sha256:x")
	put("eu-1", "shop", "CronJob", "report", "production", "sha256:y")
	put("eu-1", "dev", "Deployment", "web", "dev", "sha256:x")
	put("us-1", "shop", "Deployment", "web", "production", "sha256:x")
	count := func(f store.DeploymentFilter) int { return len(must(s.Deployments(ctx, f))) }
	for _, c := range []struct {
		f    store.DeploymentFilter
		want int
	}{
		{store.DeploymentFilter{}, 4},
		{store.DeploymentFilter{Environment: "production", Digest: "sha256:x"}, 2},
		{store.DeploymentFilter{Cluster: "eu-1", Namespace: "shop"}, 2},
		{store.DeploymentFilter{Kind: "CronJob"}, 1},
		{store.DeploymentFilter{Workload: "web", Cluster: "eu-1"}, 2},
		{store.DeploymentFilter{Digest: "sha256:none"}, 0},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("%+v: %d rows, want %d", c.f, got, c.want)
		}
	}
	// Reconciliation: eu-1 now runs only shop/Deployment/web; us-1 is untouched.
	n, err := s.RetainWorkloads(ctx, "eu-1", []store.WorkloadKey{{Namespace: "shop", Kind: "Deployment", Name: "web"}})
	if err != nil || n != 2 {
		t.Fatalf("retain removed %d (%v), want 2", n, err)
	}
	got := rowsOf(must(s.Deployments(ctx, store.DeploymentFilter{})))
	if len(got) != 2 || got[0][:25] != "eu-1/shop/Deployment/web " || got[1][:25] != "us-1/shop/Deployment/web " {
		t.Errorf("after retain: %v", got)
	}
}
