package admission

import (
	"encoding/json"
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// deploymentReview wraps testdata's largest Deployment (kube-prometheus's
// grafana, 11 KB of YAML: volumes, probes, resources, one container) in an
// AdmissionReview CREATE with the request fields the API server sends.
func deploymentReview(tb testing.TB) []byte {
	tb.Helper()
	y, err := os.ReadFile("testdata/workloads/kube-prometheus/grafana-deployment.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := yaml.YAMLToJSON(y)
	if err != nil {
		tb.Fatal(err)
	}
	gvk := map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"}
	gvr := map[string]any{"group": "apps", "version": "v1", "resource": "deployments"}
	body, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
		"name": "grafana", "namespace": "monitoring", "operation": "CREATE",
		"userInfo":  map[string]any{"username": "system:serviceaccount:argocd:argocd-application-controller", "uid": "5c1d7a32-9d0e-4b7b-8a47-3f2b1c0d9e8f", "groups": []string{"system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"}},
		"object":    json.RawMessage(obj),
		"oldObject": nil, "dryRun": false,
		"options": map[string]any{"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "argocd-controller"},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkDecodeReview measures decoding a review and building its
// workload (decodeReview, then review.object), nothing else, with the
// webhook's decoder and with encoding/json alone.
func BenchmarkDecodeReview(b *testing.B) {
	pod, _ := tenContainerPod(b)
	for _, c := range []struct {
		name       string
		body       []byte
		containers int
	}{
		{"Pod10", pod, 10},
		{"DeploymentGrafana", deploymentReview(b), 1},
	} {
		// v2 is the decoder the webhook uses; encoding-json is the fallback,
		// encoding/json alone (what decoding was before), for the ratio.
		for _, d := range []struct {
			name   string
			decode func([]byte) (review, error)
		}{{"v2", decodeReview}, {"encoding-json", decodeReviewV1}} {
			b.Run(c.name+"/"+d.name, func(b *testing.B) {
				b.SetBytes(int64(len(c.body)))
				b.ReportAllocs()
				for b.Loop() {
					rv, err := d.decode(c.body)
					if err != nil {
						b.Fatal(err)
					}
					wl, err := rv.object()
					if err != nil || len(wl.Containers) != c.containers {
						b.Fatalf("%d containers, %v", len(wl.Containers), err)
					}
				}
			})
		}
	}
}
