package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// DefaultImage is the webhook image the manifests and the Helm chart
// (values.yaml; its appVersion) deploy: a release tag, never latest — the
// project's own policy refuses a mutable tag, and every replica must run
// the same build.
const DefaultImage = "ghcr.io/safeguard-dev/safeguard:0.1.0"

// ManifestOptions shape the install manifests. Exactly one of CertManager
// and CABundle says where the webhook's serving certificate comes from.
type ManifestOptions struct {
	Namespace string // default "safeguard"
	Name      string // Service, Deployment and Secret base name; default "safeguard-webhook"
	Image     string // default DefaultImage
	Replicas  int32  // default 2
	// CertManager adds a cert-manager Issuer and Certificate and has
	// cert-manager inject the CA into the webhook configurations.
	CertManager bool
	// CABundle is the PEM CA that signed the serving certificate in the
	// Secret <Name>-tls (for example from `admission serve --self-signed`).
	CABundle []byte
	// FailurePolicy is what the API server does when the webhook cannot be
	// reached: Fail (default: enforce means enforce) or Ignore.
	FailurePolicy string
	// TimeoutSeconds the API server waits; default 10 (the webhook's own
	// budget is 2 s, so it answers with a reason first).
	TimeoutSeconds int32
	// NoClusterAccess leaves out the ClusterRole and its binding and the
	// service account token: environments then come from the config's
	// namespace globs only, and nothing reconciles the inventory. By
	// default the webhook reads namespace labels (environment_label) and
	// reconciles the inventory against the workloads and Pods that exist.
	NoClusterAccess bool
}

func (o *ManifestOptions) defaults() error {
	if o.Namespace == "" {
		o.Namespace = "safeguard"
	}
	if o.Name == "" {
		o.Name = "safeguard-webhook"
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.FailurePolicy == "" {
		o.FailurePolicy = string(admissionregistrationv1.Fail)
	}
	if o.FailurePolicy != string(admissionregistrationv1.Fail) && o.FailurePolicy != string(admissionregistrationv1.Ignore) {
		return fmt.Errorf("failure policy %q: want Fail or Ignore", o.FailurePolicy)
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = 10
	}
	if o.TimeoutSeconds < 1 || o.TimeoutSeconds > 30 {
		return fmt.Errorf("timeoutSeconds %d: Kubernetes allows 1 to 30", o.TimeoutSeconds)
	}
	// The API server must wait for the webhook's own answer (its budget,
	// the grace, writing it), or every slow image becomes a bare timeout
	// under failurePolicy instead of a decision with its reason.
	if limit := (&Webhook{}).timeLimit(); time.Duration(o.TimeoutSeconds)*time.Second < limit {
		return fmt.Errorf("timeoutSeconds %d: the webhook may take %s to answer (budget %s); give at least %d",
			o.TimeoutSeconds, limit, DefaultBudget, int32((limit+time.Second-1)/time.Second))
	}
	if o.CertManager == (len(o.CABundle) > 0) {
		return errors.New("choose one certificate source: cert-manager or a CA bundle")
	}
	return nil
}

// WorkloadResources are the resources both enforcing webhooks intercept
// on CREATE and UPDATE: every workload kind that carries a pod spec, and
// the ephemeral-containers sub-resource `kubectl debug` uses.
func WorkloadResources() []admissionregistrationv1.RuleWithOperations {
	return workloadRules(true, admissionregistrationv1.Create, admissionregistrationv1.Update)
}

// InventoryResources are what the inventory webhook is told of: the DELETE
// of the same workload kinds, so a deleted workload leaves the inventory at
// once rather than at the next reconciliation. No sub-resource: a
// sub-resource is not deleted, and the webhook forgets by the kind and name.
func InventoryResources() []admissionregistrationv1.RuleWithOperations {
	return workloadRules(false, admissionregistrationv1.Delete)
}

func workloadRules(ephemeral bool, ops ...admissionregistrationv1.OperationType) []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.NamespacedScope
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources, Scope: &scope}}
	}
	core := []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers"}
	if !ephemeral {
		core = []string{"pods", "replicationcontrollers"}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", core...),
		rule("apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// InventoryTimeoutSeconds is how long the API server waits for the
// inventory webhook: forgetting is one store write, and with failurePolicy
// Ignore a webhook that hangs delays every delete by this much.
const InventoryTimeoutSeconds int32 = 5

// ClusterAccessConfig is what the install manifests add to admission.yaml
// when the webhook may call the API server: the environment from each
// namespace's label (the globs still apply to namespaces without one), and
// the Pod's service account for namespace labels and reconciliation.
const ClusterAccessConfig = "environment_label: safeguard.dev/environment\nkubernetes: {in_cluster: true}\n"

// ClusterRules are the ClusterRole's rules, exactly the calls
// admission/cluster makes: a watch on namespaces (and a GET for one the
// watch has not delivered yet), and the lists a reconciliation reads: the
// workload kinds, which are deployed while they exist (scaled to zero
// too), and Pods, traced to their workloads.
func ClusterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "replicationcontrollers"}, Verbs: []string{"list"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"list"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"list"}},
	}
}

// StarterPolicy is the policy the install manifests put in the ConfigMap:
// rules that need only the image and its registry, so a fresh webhook
// with an empty store decides correctly. Vulnerability rules need a store
// with imported feeds (the gate fails closed without one): run `safeguard
// serve --admission-listen` with feed sync, or point --db at the store a
// `safeguard serve` keeps, before adding them.
const StarterPolicy = `# The policy the webhook enforces (docs/POLICY.md); replace it with yours.
# Vulnerability rules need a store with imported feeds: without one the
# gate fails closed and would deny every image.
version: 1
name: cluster-starter
rules:
  - {name: no-typosquats, type: references, with: {deny_typosquats: true}}
  - {name: sbom-present, type: sbom, mode: warn}
`

// Manifests renders the objects that install the webhook, as multi-document
// YAML: ServiceAccount, ClusterRole and ClusterRoleBinding (unless
// NoClusterAccess), ConfigMap, Deployment, Service, the two webhook
// configurations, a PodDisruptionBudget, and with cert-manager its Issuer
// and Certificate.
func Manifests(o ManifestOptions) ([]byte, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": "safeguard", "app.kubernetes.io/component": "admission-webhook"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	tlsSecret := o.Name + "-tls"
	yes, no := true, false
	uid := int64(65532)
	probe := func(period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromString("https"), Scheme: corev1.URISchemeHTTPS}}, PeriodSeconds: period}
	}
	maxUnavailable := intstr.FromInt32(1)
	admissionYAML := "# admission.Config: cluster, environments, environment_label, exempt, pin, failure_mode, budget, kubernetes\nexempt:\n  namespaces: [kube-system, " + o.Namespace + "]\n"
	automount := !o.NoClusterAccess // the token is for the API calls of ClusterRules, and only those
	if !o.NoClusterAccess {
		admissionYAML += ClusterAccessConfig
	}
	objs := []any{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(o.Name)},
	}
	if !o.NoClusterAccess {
		// Cluster-scoped, like the webhook configurations: one install per cluster.
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
				ObjectMeta: metav1.ObjectMeta{Name: o.Name, Labels: labels}, Rules: ClusterRules()},
			&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: o.Name, Labels: labels},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: o.Name},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: o.Name, Namespace: o.Namespace}}},
		)
	}
	objs = append(objs,
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(o.Name),
			Data: map[string]string{
				"admission.yaml": admissionYAML,
				"policy.yaml":    StarterPolicy,
			}},
		&appsv1.Deployment{
			TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(o.Name),
			Spec: appsv1.DeploymentSpec{
				Replicas: &o.Replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName:           o.Name,
						AutomountServiceAccountToken: &automount,
						SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
						Containers: []corev1.Container{{
							Name:  "webhook",
							Image: o.Image,
							Args: []string{"admission", "serve", "--listen", ":8443", "--cert", "/etc/safeguard/tls/tls.crt", "--key", "/etc/safeguard/tls/tls.key",
								"--config", "/etc/safeguard/config/admission.yaml", "--policy", "/etc/safeguard/config/policy.yaml", "--db", "/var/lib/safeguard/safeguard.db"},
							Ports:          []corev1.ContainerPort{{Name: "https", ContainerPort: 8443, Protocol: corev1.ProtocolTCP}},
							ReadinessProbe: probe(5),
							LivenessProbe:  probe(10),
							Resources: corev1.ResourceRequirements{
								Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
								Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
							},
							SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
								Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "tls", MountPath: "/etc/safeguard/tls", ReadOnly: true},
								{Name: "config", MountPath: "/etc/safeguard/config", ReadOnly: true},
								{Name: "data", MountPath: "/var/lib/safeguard"},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: tlsSecret}}},
							{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: o.Name}}}},
							{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						},
					},
				},
			},
		},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(o.Name),
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}}}},
		// A drain takes one replica at a time: with failurePolicy Fail, no
		// replica left would stop every workload in the cluster.
		&policyv1.PodDisruptionBudget{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"}, ObjectMeta: meta(o.Name),
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &maxUnavailable, Selector: &metav1.LabelSelector{MatchLabels: labels}}},
	)
	var annotations map[string]string
	if o.CertManager {
		annotations = map[string]string{"cert-manager.io/inject-ca-from": o.Namespace + "/" + o.Name}
	}
	cfgMeta := metav1.ObjectMeta{Name: "safeguard", Labels: labels, Annotations: annotations}
	fail := admissionregistrationv1.FailurePolicyType(o.FailurePolicy)
	equivalent := admissionregistrationv1.Equivalent
	noneOnDryRun := admissionregistrationv1.SideEffectClassNoneOnDryRun // the validating webhook records the inventory, never on dry runs
	none := admissionregistrationv1.SideEffectClassNone
	// The inventory webhook only records deletions: an outage of the
	// webhook must never block a delete, as Fail would; a deletion it
	// misses is removed by the next reconciliation.
	ignore := admissionregistrationv1.Ignore
	inventoryTimeout := InventoryTimeoutSeconds
	// Reinvoked when a later mutating webhook changes the object (a sidecar
	// injector adding a container), so the images it adds are pinned too;
	// pinned images are never re-pinned, so a second pass changes nothing else.
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	selector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", o.Namespace}}}}
	client := func(path string) admissionregistrationv1.WebhookClientConfig {
		port := int32(443)
		return admissionregistrationv1.WebhookClientConfig{
			Service:  &admissionregistrationv1.ServiceReference{Namespace: o.Namespace, Name: o.Name, Path: &path, Port: &port},
			CABundle: o.CABundle,
		}
	}
	versions := []string{"v1", "v1beta1"}
	objs = append(objs,
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"}, ObjectMeta: cfgMeta,
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name: "validate.safeguard.dev", ClientConfig: client(PathValidate), Rules: WorkloadResources(),
				FailurePolicy: &fail, MatchPolicy: &equivalent, NamespaceSelector: selector, SideEffects: &noneOnDryRun,
				TimeoutSeconds: &o.TimeoutSeconds, AdmissionReviewVersions: versions,
			}, {
				Name: "inventory.safeguard.dev", ClientConfig: client(PathValidate), Rules: InventoryResources(),
				FailurePolicy: &ignore, MatchPolicy: &equivalent, NamespaceSelector: selector, SideEffects: &noneOnDryRun,
				TimeoutSeconds: &inventoryTimeout, AdmissionReviewVersions: versions,
			}},
		},
		&admissionregistrationv1.MutatingWebhookConfiguration{
			TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"}, ObjectMeta: cfgMeta,
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "pin.safeguard.dev", ClientConfig: client(PathMutate), Rules: WorkloadResources(),
				FailurePolicy: &fail, MatchPolicy: &equivalent, NamespaceSelector: selector, SideEffects: &none,
				TimeoutSeconds: &o.TimeoutSeconds, AdmissionReviewVersions: versions, ReinvocationPolicy: &ifNeeded,
			}},
		},
	)
	if o.CertManager {
		objs = append(objs,
			map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
				"metadata": map[string]any{"name": o.Name, "namespace": o.Namespace, "labels": labels},
				"spec":     map[string]any{"selfSigned": map[string]any{}}},
			map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
				"metadata": map[string]any{"name": o.Name, "namespace": o.Namespace, "labels": labels},
				"spec": map[string]any{"secretName": tlsSecret, "dnsNames": ServiceNames(o.Name, o.Namespace),
					"issuerRef": map[string]any{"name": o.Name, "kind": "Issuer"}}},
		)
	}
	var out bytes.Buffer
	for i, obj := range objs {
		// Through JSON into a map, to drop what the API server fills in
		// (status, a null creationTimestamp) from what a person applies.
		js, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("manifest %d: %w", i, err)
		}
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, fmt.Errorf("manifest %d: %w", i, err)
		}
		delete(m, "status")
		dropNullTimestamps(m)
		b, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("manifest %d: %w", i, err)
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}

func dropNullTimestamps(v any) {
	switch x := v.(type) {
	case map[string]any:
		if ts, ok := x["creationTimestamp"]; ok && ts == nil {
			delete(x, "creationTimestamp")
		}
		for _, c := range x {
			dropNullTimestamps(c)
		}
	case []any:
		for _, c := range x {
			dropNullTimestamps(c)
		}
	}
}
