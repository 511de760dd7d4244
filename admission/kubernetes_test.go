package admission

import (
	"strings"
	"testing"
	"time"
)

// The kubernetes block is read strictly: a typo or an impossible value is
// an error naming what is wrong, never a silently disconnected webhook.
func TestParseKubernetesConfig(t *testing.T) {
	for _, c := range []struct {
		doc      string
		interval time.Duration
		source   string // in-cluster or the kubeconfig path
	}{
		{"kubernetes: {in_cluster: true}", DefaultReconcileInterval, "in-cluster"},
		{"kubernetes: {kubeconfig: /etc/kube/config, reconcile_interval: 90s}", 90 * time.Second, "/etc/kube/config"},
		{"kubernetes: {in_cluster: true, reconcile_interval: 0}", 0, "in-cluster"},
		{"kubernetes: {in_cluster: true, reconcile_interval: 0s}", 0, "in-cluster"},
		{"kubernetes:\n  in_cluster: true\n  reconcile_interval: 1h30m\n", 90 * time.Minute, "in-cluster"},
	} {
		cfg, err := ParseConfig([]byte(c.doc))
		if err != nil {
			t.Errorf("%q: %v", c.doc, err)
			continue
		}
		source := cfg.Kubernetes.Kubeconfig
		if cfg.Kubernetes.InCluster {
			source = "in-cluster"
		}
		if got := cfg.Kubernetes.Interval(); got != c.interval || source != c.source {
			t.Errorf("%q: interval %s from %s, want %s from %s", c.doc, got, source, c.interval, c.source)
		}
	}
	if cfg, err := ParseConfig([]byte("cluster: eu-1\n")); err != nil || cfg.Kubernetes != nil || cfg.Kubernetes.Interval() != 0 {
		t.Errorf("no block: %+v %v, want no cluster connection", cfg.Kubernetes, err)
	}
	for _, c := range []struct{ doc, want string }{
		{"kubernetes: {}", "give in_cluster: true or kubeconfig: FILE"},
		{"kubernetes: {in_cluster: false}", "give in_cluster: true or kubeconfig: FILE"},
		{"kubernetes: {in_cluster: true, kubeconfig: /k}", "not both"},
		{"kubernetes: {in_cluster: true, reconcile_interval: -1m}", "reconcile_interval -1m0s is negative"},
		{"kubernetes: {in_cluster: true, reconcile_interval: 1ns}", "reconcile_interval 1ns is shorter than 1m0s"},
		{"kubernetes: {in_cluster: true, reconcile_interval: 10}", `"10" is not a duration`},
		{"kubernetes: {in_cluster: true, reconcile_interval: soon}", `"soon" is not a duration`},
		{"kubernetes: {in_cluster: true, reconcile_interval: [1m]}", "want a duration"},
		{"kubernetes: {incluster: true}", "field incluster not found"},
		{"kubernetes: {in_cluster: yes please}", "line 1: cannot unmarshal !!str `yes please` into bool"},
		{"reconcile_interval: 10m", "field reconcile_interval not found"}, // it belongs in the kubernetes block
		{"kubernetes: true", "into admission.KubernetesConfig"},
	} {
		_, err := ParseConfig([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.doc, err, c.want)
		}
	}
}

// Whatever the file holds, ParseConfig returns an error or a config that
// validates, and never a negative reconciliation interval.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("kubernetes: {in_cluster: true, reconcile_interval: 10m}\n"))
	f.Add([]byte("cluster: eu-1\nenvironment_label: safeguard.dev/environment\nkubernetes:\n  kubeconfig: kc\n  reconcile_interval: 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		if cfg.Kubernetes.Interval() < 0 {
			t.Fatalf("negative interval %s accepted", cfg.Kubernetes.Interval())
		}
		if k := cfg.Kubernetes; k != nil && k.InCluster == (k.Kubeconfig != "") {
			t.Fatalf("accepted %+v: want exactly one of in_cluster and kubeconfig", k)
		}
	})
}
