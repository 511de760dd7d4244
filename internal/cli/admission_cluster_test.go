package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// fakeAPIServer is the cluster's API server, over HTTP as client-go talks
// to it: namespaces (list, watch, get) for the informer, and the lists a
// reconciliation reads. The watch holds its stream open and sends nothing;
// watch-list streams are refused, as by a server without them, so the
// informer lists.
type fakeAPIServer struct {
	namespaces  map[string]map[string]string
	pods        []corev1.Pod
	rs          []appsv1.ReplicaSet
	deployments []appsv1.Deployment
	stop        chan struct{}

	mu       sync.Mutex
	requests []string
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	q := r.URL.Query()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	list := metav1.ListMeta{ResourceVersion: "7"}
	switch p := r.URL.Path; {
	case p == "/api/v1/namespaces" && q.Get("watch") == "true":
		if q.Get("sendInitialEvents") == "true" {
			reply(http.StatusBadRequest, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
				Reason: metav1.StatusReasonBadRequest, Code: http.StatusBadRequest, Message: "sendInitialEvents is not supported"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
	case p == "/api/v1/namespaces":
		out := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"}, ListMeta: list}
		for name, labels := range f.namespaces {
			out.Items = append(out.Items, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, ResourceVersion: "7"}})
		}
		reply(http.StatusOK, out)
	case strings.HasPrefix(p, "/api/v1/namespaces/"):
		name := strings.TrimPrefix(p, "/api/v1/namespaces/")
		labels, ok := f.namespaces[name]
		if !ok {
			reply(http.StatusNotFound, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
				Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: fmt.Sprintf("namespaces %q not found", name)})
			return
		}
		reply(http.StatusOK, corev1.Namespace{TypeMeta: metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	case p == "/api/v1/pods":
		reply(http.StatusOK, corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: list, Items: f.pods})
	case p == "/apis/apps/v1/replicasets":
		reply(http.StatusOK, appsv1.ReplicaSetList{TypeMeta: metav1.TypeMeta{Kind: "ReplicaSetList", APIVersion: "apps/v1"}, ListMeta: list, Items: f.rs})
	case p == "/apis/apps/v1/deployments":
		reply(http.StatusOK, appsv1.DeploymentList{TypeMeta: metav1.TypeMeta{Kind: "DeploymentList", APIVersion: "apps/v1"}, ListMeta: list, Items: f.deployments})
	case p == "/apis/apps/v1/statefulsets":
		reply(http.StatusOK, appsv1.StatefulSetList{TypeMeta: metav1.TypeMeta{Kind: "StatefulSetList", APIVersion: "apps/v1"}, ListMeta: list})
	case p == "/apis/apps/v1/daemonsets":
		reply(http.StatusOK, appsv1.DaemonSetList{TypeMeta: metav1.TypeMeta{Kind: "DaemonSetList", APIVersion: "apps/v1"}, ListMeta: list})
	case p == "/api/v1/replicationcontrollers":
		reply(http.StatusOK, corev1.ReplicationControllerList{TypeMeta: metav1.TypeMeta{Kind: "ReplicationControllerList", APIVersion: "v1"}, ListMeta: list})
	case p == "/apis/batch/v1/jobs":
		reply(http.StatusOK, batchv1.JobList{TypeMeta: metav1.TypeMeta{Kind: "JobList", APIVersion: "batch/v1"}, ListMeta: list})
	case p == "/apis/batch/v1/cronjobs":
		reply(http.StatusOK, batchv1.CronJobList{TypeMeta: metav1.TypeMeta{Kind: "CronJobList", APIVersion: "batch/v1"}, ListMeta: list})
	default:
		reply(http.StatusNotFound, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound})
	}
}

func (f *fakeAPIServer) served(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func controller(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("u-" + name), Controller: &yes}}
}

// writeKubeconfig points a kubeconfig at server.
func writeKubeconfig(t testing.TB, dir, server string) {
	t.Helper()
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: %q}}]\nusers: [{name: u, user: {token: t}}]\n"+
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n", server)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// `admission serve` with a kubernetes block, against an API server over
// HTTP and the real gate: a namespace's environment label scopes the
// production-only signer rule, its other labels reach the policy's
// context.labels, and the reconciliation at start removes a workload that
// no longer exists while keeping the one just admitted and one scaled to
// zero.
func TestAdmissionServeWithCluster(t *testing.T) {
	gw := newGateWorld(t)
	w := gw.w
	// A CEL rule on the namespace's labels, beside the e2e policy's.
	pol, err := os.ReadFile(gw.policy)
	if err != nil {
		t.Fatal(err)
	}
	pol = append(pol, []byte(`  - name: pci-signed
    type: cel
    with:
      expression: 'context.labels.exists(k, k == "pci" && context.labels[k] == "true") ? image.signature.status == "signed" : true'
      message: a PCI namespace runs only signed images
`)...)
	if err := os.WriteFile(gw.policy, pol, 0o644); err != nil {
		t.Fatal(err)
	}
	api := &fakeAPIServer{
		namespaces: map[string]map[string]string{
			"shop":     {"safeguard.dev/environment": "production"},
			"payments": {"pci": "true"},
			"dev":      {"team": "web"},
		},
		rs: []appsv1.ReplicaSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d9", OwnerReferences: controller("Deployment", "web")}}},
		// idle is scaled to zero: no Pod, but deployed.
		deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}, {ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "idle"}}},
		pods:        []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d9-x", OwnerReferences: controller("ReplicaSet", "web-5d9")}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		stop:        make(chan struct{}),
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() { close(api.stop); srv.Close() })

	// Workloads recorded an hour ago: gone was deleted since, idle scaled to zero.
	st, err := sqlite.Open(context.Background(), gw.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{"gone", "idle"} {
		if err := st.PutWorkload(context.Background(), store.Workload{WorkloadKey: store.WorkloadKey{Cluster: "e2e", Namespace: "shop", Kind: "Deployment", Name: name},
			At: fixedNow.Add(-time.Hour), Containers: []store.DeployedContainer{{Name: "c0", Path: "spec.template.spec.containers[0]", Image: "x:1"}}}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	writeKubeconfig(t, dir, srv.URL)
	cfg := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(cfg, []byte("cluster: e2e\nenvironment_label: safeguard.dev/environment\ndefault_environment: staging\n"+
		"kubernetes: {kubeconfig: kubeconfig, reconcile_interval: 1h}\n"), 0o644); err != nil { // relative to admission.yaml
		t.Fatal(err)
	}
	addr := freeAddr(t)
	certs := filepath.Join(dir, "certs")
	ws := startHTTPS(t, certs, addr, "admission", "serve", "--self-signed", certs, "--listen", addr,
		"--policy", gw.policy, "--db", gw.db, "--config", cfg, "--insecure")

	// shop is production by its label: the signer rule applies.
	r := ws.ask(t, "/admission/validate", deploymentRequest(t, "u1", "shop", "api", w.Refs["unsigned-clean"]))
	if r.Allowed || !strings.Contains(r.Message, "signed-by-ci") || strings.Contains(r.Message, "pci-signed") {
		t.Errorf("unsigned in shop (production): %+v", r)
	}
	if r := ws.ask(t, "/admission/validate", deploymentRequest(t, "u2", "shop", "web", w.Refs["signed-clean"])); !r.Allowed {
		t.Errorf("signed in shop: %+v", r)
	}
	// payments is staging (no environment label) but pci: the CEL rule on
	// context.labels denies; the production-only signer rule does not.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "u3", "payments", "api", w.Refs["unsigned-clean"]))
	if r.Allowed || !strings.Contains(r.Message, "pci-signed") || strings.Contains(r.Message, "signed-by-ci") {
		t.Errorf("unsigned in payments (pci): %+v", r)
	}
	// dev: neither.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "u4", "dev", "api", w.Refs["unsigned-clean"]))
	if r.Allowed || strings.Contains(r.Message, "pci-signed") || strings.Contains(r.Message, "signed-by-ci") || !strings.Contains(r.Message, "approved-base") {
		t.Errorf("unsigned in dev: %+v", r)
	}
	// Labels come from the watch's cache: no GET per review.
	if n := api.served("GET /api/v1/namespaces/"); n != 0 {
		t.Errorf("%d namespace GETs for namespaces the informer listed", n)
	}

	// The reconciliation ran at start: gone (deleted) is removed; web,
	// admitted just now and running, stays with its environment; idle,
	// scaled to zero, stays.
	waitFor(t, "the reconciliation removing gone", func() bool {
		ds, err := st.Deployments(context.Background(), store.DeploymentFilter{Cluster: "e2e", Workload: "gone"})
		return err == nil && len(ds) == 0
	})
	deps, err := st.Deployments(context.Background(), store.DeploymentFilter{Cluster: "e2e"})
	envs := map[string]string{}
	for _, d := range deps {
		envs[d.Workload] = d.Environment
	}
	if err != nil || len(deps) != 2 || len(envs) != 2 || envs["web"] != "production" || envs["idle"] != "" {
		t.Errorf("inventory %+v %v, want shop/web in production and shop/idle", deps, err)
	}
	if api.served("GET /api/v1/pods") == 0 {
		t.Error("the reconciliation never listed Pods")
	}
}

// A kubernetes block that cannot work stops `admission serve` and
// `serve --admission-listen` at start, exit 2, naming the config file and
// what is wrong, before anything is written.
func TestAdmissionClusterConfigErrors(t *testing.T) {
	gw := newGateWorld(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := write("missing.yaml", "kubernetes: {kubeconfig: /nonexistent/kubeconfig}\n")
	empty := write("empty.yaml", "kubernetes: {kubeconfig: empty-kubeconfig}\n")
	write("empty-kubeconfig", "apiVersion: v1\nkind: Config\n")
	negative := write("negative.yaml", "kubernetes: {in_cluster: true, reconcile_interval: -5m}\n")
	registries := write("registries.yaml", "registries:\n  - name: w\n    host: "+gw.w.Host+"\n    insecure: true\n    repositories: [acme/app]\n")
	for _, c := range []struct {
		config string
		want   []string
	}{
		{missing, []string{missing, "/nonexistent/kubeconfig", "no such file"}},
		{empty, []string{empty, filepath.Join(dir, "empty-kubeconfig")}},
		{negative, []string{negative, "reconcile_interval -5m0s is negative"}},
	} {
		certs := filepath.Join(t.TempDir(), "certs")
		for _, args := range [][]string{
			{"admission", "serve", "--self-signed", certs, "--listen", "127.0.0.1:0", "--policy", gw.policy, "--db", gw.db, "--config", c.config},
			{"serve", "--config", registries, "--db", gw.db, "--listen", "127.0.0.1:0", "--no-kev", "--no-epss", "--policy", gw.policy,
				"--admission-listen", "127.0.0.1:0", "--admission-self-signed", certs, "--admission-config", c.config},
		} {
			code, out, errOut := run(t, args...)
			if code != ExitError {
				t.Errorf("%s %s: exit %d, want %d: %s", args[0], filepath.Base(c.config), code, ExitError, errOut)
			}
			for _, want := range c.want {
				if !strings.Contains(errOut, want) {
					t.Errorf("%s %s: %q does not say %q", args[0], filepath.Base(c.config), errOut, want)
				}
			}
			if strings.Contains(out, "caBundle") {
				t.Errorf("%s %s: printed a caBundle before failing", args[0], filepath.Base(c.config))
			}
			if _, err := os.Stat(certs); err == nil {
				t.Errorf("%s %s: created %s before failing", args[0], filepath.Base(c.config), certs)
			}
		}
	}
}
