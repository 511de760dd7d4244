package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// webhookServer is `safeguard admission serve` running in-process over
// HTTPS with a self-signed pair, answering through the real gate.
type webhookServer struct {
	url    string
	client *http.Client
	stop   func()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startWebhook runs `admission serve` with the gate world's policy and
// store and the given admission config, and waits until it answers TLS.
func startWebhook(t *testing.T, gw *gateWorld, config string) *webhookServer {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	certs := filepath.Join(dir, "certs")
	return startHTTPS(t, certs, addr, "admission", "serve", "--self-signed", certs, "--listen", addr,
		"--policy", gw.policy, "--db", gw.db, "--config", cfg, "--insecure")
}

// startHTTPS runs a command that serves the webhooks on addr with a
// self-signed pair created in certs, and waits until it answers TLS.
func startHTTPS(t *testing.T, certs, addr string, args ...string) *webhookServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- e.run(ctx, args) }()
	var ca []byte
	for i := 0; i < 200; i++ {
		if b, err := os.ReadFile(filepath.Join(certs, "ca.crt")); err == nil && len(b) > 0 {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				ca = b
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("admission serve exited %d: %s", code, errb.String())
		case <-time.After(25 * time.Millisecond):
		}
	}
	if ca == nil {
		t.Fatalf("webhook did not start: %s", errb.String())
	}
	// The caBundle the command printed is the CA that signed the serving pair.
	if want := base64.StdEncoding.EncodeToString(append(bytes.TrimSpace(ca), '\n')); !strings.Contains(out.String()+errb.String(), want) {
		t.Errorf("printed caBundle does not match ca.crt:\n%s", out.String())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ca.crt holds no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "safeguard-webhook.safeguard.svc"}}}
	ws := &webhookServer{url: "https://" + addr, client: client}
	var once sync.Once
	ws.stop = func() { once.Do(func() { stopServe(t, cancel, done, &errb) }) }
	t.Cleanup(ws.stop)
	return ws
}

func stopServe(t *testing.T, cancel func(), done chan int, errb *syncBuffer) {
	{
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("admission serve exited %d: %s", code, errb.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("admission serve did not stop")
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// review is what the webhook answered.
type review struct {
	UID      string
	Allowed  bool
	Message  string
	Warnings []string
	Patch    []map[string]any
}

// podRequest is an AdmissionReview v1 CREATE of a Deployment whose pod
// template runs images (containers c0, c1, …).
func deploymentRequest(t *testing.T, uid, ns, name string, images ...string) []byte {
	t.Helper()
	var cs []map[string]any
	for i, im := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": im})
	}
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}, "spec": map[string]any{"containers": cs}}}}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": uid, "kind": map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"},
		"resource":  map[string]any{"group": "apps", "version": "v1", "resource": "deployments"},
		"namespace": ns, "name": name, "operation": "CREATE", "object": obj}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (ws *webhookServer) ask(t *testing.T, path string, body []byte) review {
	t.Helper()
	resp, err := ws.client.Post(ws.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	var out struct {
		Response struct {
			UID      string   `json:"uid"`
			Allowed  bool     `json:"allowed"`
			Warnings []string `json:"warnings"`
			Patch    []byte   `json:"patch"`
			Status   *struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
	r := review{UID: out.Response.UID, Allowed: out.Response.Allowed, Warnings: out.Response.Warnings}
	if out.Response.Status != nil {
		r.Message = out.Response.Status.Message
	}
	if len(out.Response.Patch) > 0 {
		if err := json.Unmarshal(out.Response.Patch, &r.Patch); err != nil {
			t.Fatalf("patch: %v", err)
		}
	}
	return r
}

const admissionConfig = `cluster: e2e
environments:
  - {namespace: prod-*, environment: production}
default_environment: staging
failure_mode: %s
budget: 2s
`

// TestAdmissionEndToEnd runs the webhook over HTTPS with the real gate,
// store and policy against a loopback registry: images never seen before
// are fetched, verified and matched within the budget; the verdicts are the
// ones `safeguard gate` gives for the same images.
func TestAdmissionEndToEnd(t *testing.T) {
	gw := newGateWorld(t)
	w := gw.w
	ws := startWebhook(t, gw, fmt.Sprintf(admissionConfig, "fail-closed"))

	st, err := sqlite.Open(context.Background(), gw.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ok, _ := st.HasImage(context.Background(), w.Digests["signed-clean"]); ok {
		t.Fatal("the store knows the image before the first admission request")
	}

	// Allow: signed, clean, approved base, in production. Never seen before,
	// so the gate fetches it on the spot; the warn rule becomes a warning.
	r := ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-allow", "prod-shop", "web", w.Refs["signed-clean"]))
	if r.UID != "uid-allow" || !r.Allowed {
		t.Fatalf("signed clean image denied: %+v", r)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "spec.template.spec.containers[0]") || !strings.Contains(r.Warnings[0], "fresh") {
		t.Errorf("warnings = %q, want the fresh (warn) rule on containers[0]", r.Warnings)
	}
	if ok, _ := st.HasImage(context.Background(), w.Digests["signed-clean"]); !ok {
		t.Error("the gate did not record the image it fetched on the spot")
	}

	// Digest patch: the mutating webhook pins the tag to the digest evaluated.
	r = ws.ask(t, "/admission/mutate", deploymentRequest(t, "uid-pin", "prod-shop", "web", w.Refs["signed-clean"]))
	want := w.Refs["signed-clean"] + "@" + w.Digests["signed-clean"]
	if !r.Allowed || len(r.Patch) != 1 || r.Patch[0]["op"] != "replace" ||
		r.Patch[0]["path"] != "/spec/template/spec/containers/0/image" || r.Patch[0]["value"] != want {
		t.Errorf("pin patch = %+v, want replace containers/0/image with %s", r.Patch, want)
	}

	// Deny: unsigned in production (signer rule) and an unapproved base; the
	// message names the container, the image and every failed rule.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-deny", "prod-shop", "api", w.Refs["signed-clean"], w.Refs["unsigned-clean"]))
	if r.Allowed || !strings.Contains(r.Message, "spec.template.spec.containers[1]") || !strings.Contains(r.Message, w.Refs["unsigned-clean"]) ||
		!strings.Contains(r.Message, "signed-by-ci") || !strings.Contains(r.Message, "approved-base") || strings.Contains(r.Message, "containers[0]") {
		t.Errorf("unsigned image: %+v", r)
	}
	// The signer rule is scoped to production: staging denies only the base.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-staging", "dev", "api", w.Refs["unsigned-clean"]))
	if r.Allowed || strings.Contains(r.Message, "signed-by-ci") || !strings.Contains(r.Message, "approved-base") {
		t.Errorf("staging: %+v", r)
	}
	// C83 through admission: a critical KEV finding denies everywhere.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-kev", "dev", "kc", w.Refs["vulnerable"]))
	if r.Allowed || !strings.Contains(r.Message, "kev-critical") || !strings.Contains(r.Message, "CVE-2020-1938") {
		t.Errorf("KEV image: %+v", r)
	}
	// C75 and C55: typosquats and malformed references are refused without
	// asking any registry.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-typo", "dev", "t", "ubunto:20.04", "node:-16"))
	if r.Allowed || !strings.Contains(r.Message, "ubunto") || !strings.Contains(r.Message, "node:-16") {
		t.Errorf("typosquat and malformed: %+v", r)
	}
	// C60: the tag moved to an unsigned digest after signing.
	r = ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-moved", "prod-x", "p", w.Refs["moved-new"]))
	if r.Allowed || !strings.Contains(r.Message, "signed-by-ci") {
		t.Errorf("moved tag: %+v", r)
	}

	// Every allowed workload is in the deployment inventory with its digest
	// and environment; denied ones are not.
	deps, err := st.Deployments(context.Background(), store.DeploymentFilter{Cluster: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].Workload != "web" || deps[0].Namespace != "prod-shop" || deps[0].Digest != w.Digests["signed-clean"] || deps[0].Environment != "production" {
		t.Errorf("inventory = %+v, want only prod-shop/web at the signed-clean digest", deps)
	}
	// The decisions went to the decision log as admission decisions (written
	// once a second, so polled), with the same verdict `safeguard gate` gives.
	var logged []store.DecisionRecord
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		logged, err = st.Decisions(context.Background(), store.DecisionFilter{Digest: w.Digests["unsigned-clean"]})
		if err != nil || len(logged) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(logged) == 0 || logged[0].Source != "admission" || logged[0].Repeats < 1 {
		t.Fatalf("decision log: %+v %v", logged, err)
	}
	code, _, _ := gw.gate(t, nil, "--env", "production", w.Refs["unsigned-clean"])
	if code != ExitFail {
		t.Errorf("safeguard gate on the image admission denied: exit %d", code)
	}
}

// TestAdmissionRegistryDown: a registry that cannot be reached denies under
// fail-closed and admits with a warning under fail-open; both say why.
func TestAdmissionRegistryDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	ref := host + "/acme/app:1.0"
	for _, mode := range []string{"fail-closed", "fail-open"} {
		gw := newGateWorld(t)
		ws := startWebhook(t, gw, fmt.Sprintf(admissionConfig, mode))
		r := ws.ask(t, "/admission/validate", deploymentRequest(t, "uid-"+mode, "dev", "d", ref))
		switch mode {
		case "fail-closed":
			if r.Allowed || !strings.Contains(r.Message, "registry") {
				t.Errorf("%s: %+v, want a denial naming the unreachable registry", mode, r)
			}
		case "fail-open":
			if !r.Allowed || !strings.Contains(strings.Join(r.Warnings, "\n"), "registry") {
				t.Errorf("%s: %+v, want an admission with a warning naming the unreachable registry", mode, r)
			}
		}
		ws.stop()
	}
}

// TestServeAdmission: `safeguard serve --policy … --admission-listen …`
// runs the webhooks beside the API, on their own HTTPS listener, with the
// same gate.
func TestServeAdmission(t *testing.T) {
	gw := newGateWorld(t)
	w := gw.w
	dir := t.TempDir()
	config := filepath.Join(dir, "registries.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("registries:\n  - name: w\n    host: %s\n    insecure: true\n    repositories: [acme/app]\n", w.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	certs, addr := filepath.Join(dir, "certs"), freeAddr(t)
	ws := startHTTPS(t, certs, addr, "serve", "--config", config, "--db", gw.db, "--listen", freeAddr(t), "--no-kev", "--no-epss",
		"--policy", gw.policy, "--admission-listen", addr, "--admission-self-signed", certs)
	if r := ws.ask(t, "/admission/validate", deploymentRequest(t, "u1", "dev", "web", w.Refs["signed-clean"])); !r.Allowed {
		t.Errorf("signed clean image: %+v", r)
	}
	if r := ws.ask(t, "/admission/validate", deploymentRequest(t, "u2", "dev", "kc", w.Refs["vulnerable"])); r.Allowed || !strings.Contains(r.Message, "kev-critical") {
		t.Errorf("KEV image: %+v", r)
	}
	// Flags that make no sense alone are refused before anything starts.
	for _, args := range [][]string{
		{"serve", "--config", config, "--db", gw.db, "--admission-listen", addr, "--admission-self-signed", certs},
		{"serve", "--config", config, "--db", gw.db, "--policy", gw.policy, "--admission-listen", addr},
		{"serve", "--config", config, "--db", gw.db, "--admission-self-signed", certs},
	} {
		if code, _, errOut := run(t, args...); code != ExitError || !strings.Contains(errOut, "admission") {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}

// BenchmarkAdmissionReviewRealGate answers a 10-container Pod review (8
// distinct images, 2 repeated as sidecars; pinned references whose facts
// the gate has gathered) through the webhook and the real gate over the
// SQLite store, with the baseline-style policy, the batched decision log
// and the inventory: what a production request costs in-process. Reports
// p50 and p99 per review besides ns/op.
func BenchmarkAdmissionReviewRealGate(b *testing.B) { benchRealGate(b, false) }

// BenchmarkAdmissionReviewRealGateNamespaceLabels is the same review with
// the webhook connected to a cluster (an API server over HTTP): the
// namespace's labels (three, as a real namespace has) come from the
// informer and go to the gate with every question.
func BenchmarkAdmissionReviewRealGateNamespaceLabels(b *testing.B) { benchRealGate(b, true) }

func benchRealGate(b *testing.B, withCluster bool) {
	gw := newGateWorld(b)
	w := gw.w
	s := admissionSetup{policy: gw.policy, db: gw.db, insecure: true}
	if withCluster {
		api := &fakeAPIServer{namespaces: map[string]map[string]string{"dev": {"kubernetes.io/metadata.name": "dev", "team": "web", "safeguard.dev/environment": "staging"}},
			pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}}, stop: make(chan struct{})}
		srv := httptest.NewServer(api)
		b.Cleanup(func() { close(api.stop); srv.Close() })
		dir := b.TempDir()
		writeKubeconfig(b, dir, srv.URL)
		s.config = filepath.Join(dir, "admission.yaml")
		if err := os.WriteFile(s.config, []byte("environment_label: safeguard.dev/environment\nkubernetes: {kubeconfig: kubeconfig, reconcile_interval: 0}\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	wh, closeStore, err := s.webhook(context.Background(), &env{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return fixedNow }, getenv: func(string) string { return "" }}, slog.New(slog.NewTextHandler(io.Discard, nil)), withCluster)
	if err != nil {
		b.Fatal(err)
	}
	defer closeStore()
	var images []string
	for _, k := range []string{"signed-clean", "unsigned-clean", "vulnerable", "unusable-sbom", "no-sbom", "moved-old", "moved-new", "index", "signed-clean", "vulnerable"} {
		images = append(images, w.Pinned(k))
	}
	var cs []map[string]any
	for i, im := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": im})
	}
	body, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "bench", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"}, "resource": map[string]any{"group": "", "version": "v1", "resource": "pods"},
		"namespace": "dev", "name": "p", "operation": "CREATE",
		"object": map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "dev"}, "spec": map[string]any{"containers": cs}}}})
	ctx := context.Background()
	if _, err := wh.Review(ctx, body, false); err != nil { // gathers the facts
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		out, err := wh.Review(ctx, body, false)
		lat = append(lat, time.Since(t0))
		if err != nil || out.Response.Allowed { // several of the images fail the policy
			b.Fatalf("%v %+v", err, out.Response)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
