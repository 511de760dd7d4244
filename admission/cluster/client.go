package cluster

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/safeguard-dev/safeguard/admission"
)

// NewClient builds a clientset from the admission config's kubernetes
// block: the Pod's service account (in_cluster) or a kubeconfig file's
// current context. Everything is checked here, at start-up, so a bad path
// or an empty kubeconfig is a clear error rather than failing reviews.
func NewClient(k *admission.KubernetesConfig) (kubernetes.Interface, error) {
	if k == nil {
		return nil, errors.New("kubernetes: not configured")
	}
	var cfg *rest.Config
	var err error
	switch {
	case k.InCluster:
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("kubernetes: in_cluster: %w", err)
		}
	case k.Kubeconfig != "":
		if _, err := os.Stat(k.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubernetes: kubeconfig: %w", err)
		}
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}, &clientcmd.ConfigOverrides{})
		if cfg, err = loader.ClientConfig(); err != nil {
			return nil, fmt.Errorf("kubernetes: kubeconfig %s: %w", k.Kubeconfig, err)
		}
	default:
		return nil, errors.New("kubernetes: give in_cluster: true or kubeconfig: FILE")
	}
	cfg.UserAgent = "safeguard-admission"
	// The namespace informer holds one watch; GETs happen only for a
	// namespace the watch has not delivered yet, and the reconciliation
	// lists in pages every few minutes. client-go's default (5/s, burst 10)
	// would queue a burst of reviews in a namespace created a moment ago.
	cfg.QPS, cfg.Burst = 20, 40
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return c, nil
}
