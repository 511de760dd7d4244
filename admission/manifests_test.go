package admission

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/safeguard-dev/safeguard/policy"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/template"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/safeguard-dev/safeguard/imageref"
)

const chartDir = "../deploy/helm/safeguard"

func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---")) {
		d = bytes.TrimPrefix(bytes.TrimSpace(d), []byte("---"))
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, append(d, '\n')) // a final block scalar keeps its newline
		}
	}
	return out
}

// decodeStrict decodes each document into its Kubernetes type, refusing
// unknown fields, and returns the objects by kind.
func decodeStrict(t *testing.T, b []byte) map[string]any {
	t.Helper()
	objs := map[string]any{}
	for _, doc := range splitDocs(b) {
		var tm struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration":
			obj = &admissionregistrationv1.ValidatingWebhookConfiguration{}
		case "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration":
			obj = &admissionregistrationv1.MutatingWebhookConfiguration{}
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		case "cert-manager.io/v1 Issuer", "cert-manager.io/v1 Certificate":
			// Custom resources: no Go types here; the fields used are checked below.
			obj = &map[string]any{}
		default:
			t.Fatalf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s does not decode strictly: %v", tm.Kind, err)
		}
		if _, dup := objs[tm.Kind]; dup {
			t.Fatalf("two %s objects", tm.Kind)
		}
		objs[tm.Kind] = obj
	}
	return objs
}

// What a cluster admin expects of a webhook's Deployment: an image the
// project's own policy admits (a release tag, never latest), resources, both
// probes, an API token only with the RBAC it is for, a disruption budget so a node drain
// never takes every replica (failurePolicy Fail would then stop every
// workload), and a mutating webhook reinvoked after later mutations, so the
// images a sidecar injector adds are pinned too.
func TestManifestsClusterReady(t *testing.T) {
	b, err := Manifests(ManifestOptions{CertManager: true})
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeStrict(t, b)
	d := objs["Deployment"].(*appsv1.Deployment)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	ref, err := imageref.Parse(c.Image)
	if err != nil || ref.Tag == "" || ref.Tag == "latest" {
		t.Errorf("default image %q: want a release tag", c.Image)
	}
	chart, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(chart), "appVersion: \""+ref.Tag+"\"") {
		t.Errorf("default image tag %q is not the chart's appVersion", ref.Tag)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Error("liveness and readiness probes wanted")
	}
	if spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
		t.Error("by default the webhook reads namespaces and reconciles: it needs its service account token")
	}
	pdb, ok := objs["PodDisruptionBudget"].(*policyv1.PodDisruptionBudget)
	if !ok || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || fmt.Sprint(pdb.Spec.Selector.MatchLabels) != fmt.Sprint(d.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget %+v", objs["PodDisruptionBudget"])
	}
	m := objs["MutatingWebhookConfiguration"].(*admissionregistrationv1.MutatingWebhookConfiguration)
	if p := m.Webhooks[0].ReinvocationPolicy; p == nil || *p != admissionregistrationv1.IfNeededReinvocationPolicy {
		t.Errorf("reinvocationPolicy %v", p)
	}
}

// The default install reads namespace labels and reconciles: a ClusterRole
// with exactly the calls admission/cluster makes, bound to the webhook's
// ServiceAccount, and a config that uses them (in-cluster credentials, the
// environment label). --no-cluster-access drops all of it and the token.
func TestManifestsClusterAccess(t *testing.T) {
	on := decodeStrict(t, must(Manifests(ManifestOptions{CertManager: true, Namespace: "guard"})))
	role, ok := on["ClusterRole"].(*rbacv1.ClusterRole)
	if !ok {
		t.Fatal("no ClusterRole")
	}
	var rules []string
	for _, r := range role.Rules {
		rules = append(rules, fmt.Sprintf("%v %v %v", r.APIGroups, r.Resources, r.Verbs))
	}
	if got, want := strings.Join(rules, "; "), "[] [namespaces] [get list watch]; [] [pods replicationcontrollers] [list]; [apps] [deployments replicasets statefulsets daemonsets] [list]; [batch] [jobs cronjobs] [list]"; got != want {
		t.Errorf("ClusterRole rules %s\nwant %s", got, want)
	}
	b := on["ClusterRoleBinding"].(*rbacv1.ClusterRoleBinding)
	sa := on["ServiceAccount"].(*corev1.ServiceAccount)
	d := on["Deployment"].(*appsv1.Deployment)
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != role.Name || b.RoleRef.APIGroup != "rbac.authorization.k8s.io" ||
		len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != sa.Name || b.Subjects[0].Namespace != "guard" ||
		d.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("binding %+v does not bind the ClusterRole to the Deployment's ServiceAccount %s/%s", b, sa.Namespace, sa.Name)
	}
	cfg, err := ParseConfig([]byte(on["ConfigMap"].(*corev1.ConfigMap).Data["admission.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kubernetes == nil || !cfg.Kubernetes.InCluster || cfg.Kubernetes.Interval() != DefaultReconcileInterval ||
		cfg.EnvironmentLabel != "safeguard.dev/environment" || fmt.Sprint(cfg.Exempt.Namespaces) != "[kube-system guard]" {
		t.Errorf("installed config %+v", cfg)
	}

	off := decodeStrict(t, must(Manifests(ManifestOptions{CertManager: true, Namespace: "guard", NoClusterAccess: true})))
	if _, ok := off["ClusterRole"]; ok {
		t.Error("ClusterRole without cluster access")
	}
	if _, ok := off["ClusterRoleBinding"]; ok {
		t.Error("ClusterRoleBinding without cluster access")
	}
	if a := off["Deployment"].(*appsv1.Deployment).Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("without cluster access the webhook calls no API: no service account token")
	}
	cfg, err = ParseConfig([]byte(off["ConfigMap"].(*corev1.ConfigMap).Data["admission.yaml"]))
	if err != nil || cfg.Kubernetes != nil || cfg.EnvironmentLabel != "" {
		t.Errorf("config without cluster access %+v %v", cfg, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestManifestsAreValidObjects(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	for _, o := range []ManifestOptions{{CertManager: true, Namespace: "guard"}, {CABundle: ca}} {
		b, err := Manifests(o)
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeStrict(t, b)
		ns := o.Namespace
		if ns == "" {
			ns = "safeguard"
		}
		want := 9 // with the ClusterRole and its binding
		if o.CertManager {
			want = 11
		}
		if len(objs) != want {
			t.Fatalf("%d objects, want %d", len(objs), want)
		}
		v := objs["ValidatingWebhookConfiguration"].(*admissionregistrationv1.ValidatingWebhookConfiguration)
		m := objs["MutatingWebhookConfiguration"].(*admissionregistrationv1.MutatingWebhookConfiguration)
		vw, mw := v.Webhooks[0], m.Webhooks[0]
		if *vw.FailurePolicy != admissionregistrationv1.Fail || *vw.TimeoutSeconds != 10 || *vw.MatchPolicy != admissionregistrationv1.Equivalent ||
			*vw.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun || *mw.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("webhook settings: %+v", vw)
		}
		for _, sel := range []string{fmt.Sprint(vw.NamespaceSelector.MatchExpressions), fmt.Sprint(mw.NamespaceSelector.MatchExpressions)} {
			if !strings.Contains(sel, "kubernetes.io/metadata.name NotIn [kube-system "+ns+"]") {
				t.Errorf("namespaceSelector %s must exclude kube-system and %s", sel, ns)
			}
		}
		if *vw.ClientConfig.Service.Path != PathValidate || *mw.ClientConfig.Service.Path != PathMutate || vw.ClientConfig.Service.Namespace != ns {
			t.Errorf("client config %+v %+v", vw.ClientConfig.Service, mw.ClientConfig.Service)
		}
		// The second validating webhook is told only of deletions, for the
		// inventory: the same service, path, CA, namespaces and matching,
		// but an outage never blocks a delete, and dry runs record nothing.
		if len(v.Webhooks) != 2 || len(m.Webhooks) != 1 {
			t.Fatalf("%d validating and %d mutating webhooks, want 2 and 1", len(v.Webhooks), len(m.Webhooks))
		}
		iw := v.Webhooks[1]
		if iw.Name != "inventory.safeguard.dev" || *iw.FailurePolicy != admissionregistrationv1.Ignore ||
			*iw.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun || *iw.MatchPolicy != admissionregistrationv1.Equivalent ||
			*iw.TimeoutSeconds < 1 || *iw.TimeoutSeconds >= *vw.TimeoutSeconds ||
			fmt.Sprint(iw.ClientConfig) != fmt.Sprint(vw.ClientConfig) || fmt.Sprint(iw.NamespaceSelector) != fmt.Sprint(vw.NamespaceSelector) ||
			fmt.Sprint(iw.AdmissionReviewVersions) != fmt.Sprint(vw.AdmissionReviewVersions) {
			t.Errorf("inventory webhook %+v", iw)
		}
		opsOf := func(rules []admissionregistrationv1.RuleWithOperations) (ops map[admissionregistrationv1.OperationType]bool, resources map[string]bool) {
			ops, resources = map[admissionregistrationv1.OperationType]bool{}, map[string]bool{}
			for _, r := range rules {
				for _, op := range r.Operations {
					ops[op] = true
				}
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						resources[g+"/"+res] = true
					}
				}
			}
			return ops, resources
		}
		vOps, vRes := opsOf(vw.Rules)
		iOps, iRes := opsOf(iw.Rules)
		if fmt.Sprint(vOps) != "map[CREATE:true UPDATE:true]" || fmt.Sprint(iOps) != "map[DELETE:true]" {
			t.Errorf("enforcing webhook operations %v (DELETE would be blocked by failurePolicy Fail), inventory webhook %v", vOps, iOps)
		}
		for r := range vRes {
			if !iRes[r] && !strings.Contains(r, "/ephemeralcontainers") {
				t.Errorf("the inventory webhook is not told when %s is deleted", r)
			}
		}
		for r := range iRes {
			if !vRes[r] || strings.Contains(r[strings.Index(r, "/")+1:], "/") {
				t.Errorf("the inventory webhook is told of %s, not a workload the webhook records", r)
			}
		}
		if !o.CertManager && !bytes.Equal(iw.ClientConfig.CABundle, ca) {
			t.Error("caBundle not carried to the inventory webhook")
		}
		resources := fmt.Sprint(vw.Rules)
		for _, r := range []string{"pods/ephemeralcontainers", "deployments", "cronjobs", "replicationcontrollers", "statefulsets", "daemonsets", "jobs", "replicasets"} {
			if !strings.Contains(resources, r) {
				t.Errorf("rules miss %s", r)
			}
		}
		if o.CertManager {
			if v.Annotations["cert-manager.io/inject-ca-from"] != ns+"/safeguard-webhook" || len(vw.ClientConfig.CABundle) != 0 {
				t.Errorf("cert-manager injection: %v", v.Annotations)
			}
			cert := *objs["Certificate"].(*map[string]any)
			spec := cert["spec"].(map[string]any)
			if spec["secretName"] != "safeguard-webhook-tls" || fmt.Sprint(spec["dnsNames"]) != fmt.Sprint(ServiceNames("safeguard-webhook", ns)) {
				t.Errorf("certificate %v", spec)
			}
		} else if !bytes.Equal(vw.ClientConfig.CABundle, ca) || !bytes.Equal(mw.ClientConfig.CABundle, ca) {
			t.Error("caBundle not carried")
		}
		d := objs["Deployment"].(*appsv1.Deployment)
		if d.Spec.Template.Spec.Volumes[0].Secret.SecretName != "safeguard-webhook-tls" || d.Namespace != ns {
			t.Errorf("deployment %+v", d.Spec.Template.Spec.Volumes)
		}
	}
	if _, err := Manifests(ManifestOptions{}); err == nil {
		t.Error("no certificate source accepted")
	}
	// The API server must not give up before the webhook's 2 s budget does.
	for _, secs := range []int32{1, 2} {
		if _, err := Manifests(ManifestOptions{CertManager: true, TimeoutSeconds: secs}); err == nil || !strings.Contains(err.Error(), "at least 3") {
			t.Errorf("timeoutSeconds %d: %v", secs, err)
		}
	}
	if _, err := Manifests(ManifestOptions{CertManager: true, TimeoutSeconds: 3}); err != nil {
		t.Errorf("timeoutSeconds 3: %v", err)
	}
	if _, err := Manifests(ManifestOptions{CertManager: true, CABundle: []byte("x")}); err == nil {
		t.Error("two certificate sources accepted")
	}
}

// renderChart renders the chart's templates with Go's text/template and
// the few Helm functions they use (quote, b64enc, fail, as Sprig defines
// them), with values.yaml and overrides.
func renderChart(t *testing.T, namespace string, override map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	for k, v := range override {
		values[k] = v
	}
	funcs := template.FuncMap{
		"quote":  func(s any) string { return fmt.Sprintf("%q", fmt.Sprint(s)) },
		"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"fail":   func(msg string) (string, error) { return "", errors.New(msg) },
	}
	files, _ := filepath.Glob(filepath.Join(chartDir, "templates", "*.yaml"))
	sort.Strings(files)
	var out bytes.Buffer
	for _, f := range files {
		tpl, err := template.New(filepath.Base(f)).Funcs(funcs).Option("missingkey=error").ParseFiles(f)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n---\n")
		if err := tpl.Execute(&out, map[string]any{"Values": values, "Release": map[string]any{"Namespace": namespace, "Name": "safeguard"}}); err != nil {
			t.Fatalf("render %s: %v", f, err)
		}
	}
	return out.Bytes()
}

// normalise turns every document into plain JSON values sorted by kind,
// so two renderings compare as objects, not as text.
func normalise(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for _, doc := range splitDocs(b) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		json.Unmarshal(js, &v)
		c, _ := json.Marshal(v) // maps marshal with sorted keys
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

// The Helm chart renders the same objects as `admission manifests`, for
// both certificate sources, with and without cluster access; with the helm binary present ($SAFEGUARD_TEST_HELM,
// which scripts/test.sh sets, or helm on PATH), helm's own rendering is
// compared as well.
func TestHelmChartMatchesManifests(t *testing.T) {
	ca := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for _, c := range []struct {
		opts     ManifestOptions
		override map[string]any
		helmArgs []string
	}{
		{ManifestOptions{CertManager: true, Namespace: "guard"}, nil, nil},
		{ManifestOptions{CABundle: []byte(ca), Namespace: "guard"}, map[string]any{"certManager": map[string]any{"enabled": false}, "caBundle": ca},
			[]string{"--set", "certManager.enabled=false", "--set-string", "caBundle=" + ca}},
		{ManifestOptions{CertManager: true, Namespace: "guard", NoClusterAccess: true}, map[string]any{"clusterAccess": false},
			[]string{"--set", "clusterAccess=false"}},
		{ManifestOptions{CABundle: []byte(ca), Namespace: "guard", NoClusterAccess: true},
			map[string]any{"certManager": map[string]any{"enabled": false}, "caBundle": ca, "clusterAccess": false},
			[]string{"--set", "certManager.enabled=false", "--set-string", "caBundle=" + ca, "--set", "clusterAccess=false"}},
		// The other settings: the enforcing webhooks follow failurePolicy and
		// timeoutSeconds, the inventory webhook keeps Ignore and its own timeout.
		{ManifestOptions{CertManager: true, Namespace: "guard", Name: "guard-hook", Image: "registry.example/safeguard:0.2.0", Replicas: 3, FailurePolicy: "Ignore", TimeoutSeconds: 15},
			map[string]any{"name": "guard-hook", "image": "registry.example/safeguard:0.2.0", "replicas": 3, "failurePolicy": "Ignore", "timeoutSeconds": 15},
			[]string{"--set", "name=guard-hook", "--set", "image=registry.example/safeguard:0.2.0", "--set", "replicas=3", "--set", "failurePolicy=Ignore", "--set", "timeoutSeconds=15"}},
	} {
		want, err := Manifests(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := renderChart(t, "guard", c.override)
		decodeStrict(t, got)
		if g, w := normalise(t, got), normalise(t, want); strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("chart and manifests differ\n--- chart ---\n%s\n--- manifests ---\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		helm := os.Getenv("SAFEGUARD_TEST_HELM") // scripts/test.sh installs helm and sets it
		if helm == "" {
			if helm, err = exec.LookPath("helm"); err != nil {
				t.Log("helm not installed: the chart was rendered with text/template only")
				continue
			}
		}
		args := append([]string{"template", "safeguard", chartDir, "--namespace", "guard"}, c.helmArgs...)
		out, err := exec.Command(helm, args...).Output()
		if err != nil {
			t.Fatalf("helm template: %v", err)
		}
		if g, w := normalise(t, out), normalise(t, want); strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("helm's rendering and manifests differ\n--- helm ---\n%s", strings.Join(g, "\n"))
		}
	}
}

// The policy the manifests install loads, and reads no findings: a fresh
// webhook on an empty store must not fail closed on every image.
func TestStarterPolicyLoads(t *testing.T) {
	p, err := policy.Parse([]byte(StarterPolicy), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if p.UsesFindings() {
		t.Error("the starter policy reads findings; a fresh webhook has no feeds")
	}
}
