package admission

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultReconcileInterval is how often a webhook connected to its cluster
// reconciles the inventory when KubernetesConfig.ReconcileInterval is
// unset: deletions the webhook saw are removed at once, so the schedule
// only catches what it missed (deleted while it was down, finished Jobs).
const DefaultReconcileInterval = 10 * time.Minute

// KubernetesConfig connects a long-running webhook to the API server of
// its cluster, for namespace labels (watched) and inventory
// reconciliation. Exactly one of InCluster and Kubeconfig.
type KubernetesConfig struct {
	// InCluster uses the Pod's service account (the install manifests).
	InCluster bool `yaml:"in_cluster"`
	// Kubeconfig is a kubeconfig file (its current context); a relative
	// path is relative to the admission config file.
	Kubeconfig string `yaml:"kubeconfig"`
	// ReconcileInterval is the time between reconciliations: unset is
	// DefaultReconcileInterval, 0 disables them.
	ReconcileInterval *Interval `yaml:"reconcile_interval"`
}

// Interval is a duration written as Go writes one (10m, 90s); a bare 0 is
// accepted, so `reconcile_interval: 0` reads as what it says.
type Interval time.Duration

// UnmarshalYAML reads a Go duration string.
func (i *Interval) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 10m", n.Line)
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 10m", n.Line, n.Value)
	}
	*i = Interval(d)
	return nil
}

// Interval returns the reconciliation interval; 0 means none.
func (k *KubernetesConfig) Interval() time.Duration {
	if k == nil {
		return 0
	}
	if k.ReconcileInterval == nil {
		return DefaultReconcileInterval
	}
	return time.Duration(*k.ReconcileInterval)
}

// MinReconcileInterval is the shortest reconcile_interval accepted.
const MinReconcileInterval = time.Minute

func (k *KubernetesConfig) validate() error {
	if k == nil {
		return nil
	}
	switch {
	case k.InCluster && k.Kubeconfig != "":
		return errors.New("admission config: kubernetes: give in_cluster: true or kubeconfig: FILE, not both")
	case !k.InCluster && k.Kubeconfig == "":
		return errors.New("admission config: kubernetes: give in_cluster: true or kubeconfig: FILE")
	}
	if k.Interval() < 0 {
		return fmt.Errorf("admission config: kubernetes: reconcile_interval %s is negative (0 disables reconciliation)", k.Interval())
	}
	// Each reconciliation lists every Pod, ReplicaSet, Job and CronJob of the
	// cluster: more often than once a minute is load on the API server, not
	// fresher data.
	if i := k.Interval(); i > 0 && i < MinReconcileInterval {
		return fmt.Errorf("admission config: kubernetes: reconcile_interval %s is shorter than %s (0 disables reconciliation)", i, MinReconcileInterval)
	}
	return nil
}
