package admission

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
)

// Failure modes: what an evaluation that could not finish means.
const (
	FailClosed = "fail-closed"
	FailOpen   = "fail-open"
)

// DefaultBudget is the time an evaluation may take when Config.Budget is
// zero: well below the webhook's timeoutSeconds (10 s in the manifests), so
// the webhook answers, and says why, before the API server gives up.
const DefaultBudget = 2 * time.Second

// Config is the webhook's policy-independent settings, usually read from a
// YAML file (ParseConfig). The zero Config is valid: no cluster name, no
// environments, nothing exempt, pinning on everywhere, fail-closed, 2 s,
// no cluster connection.
type Config struct {
	// Cluster names this cluster in decisions and the inventory.
	Cluster string `yaml:"cluster"`
	// Environments maps namespaces (globs, first match wins) to an
	// environment such as production. Checked after EnvironmentLabel.
	Environments []NamespaceEnvironment `yaml:"environments"`
	// EnvironmentLabel is the namespace label holding the environment
	// (e.g. safeguard.dev/environment); used when namespace labels are
	// available (Options.Namespaces).
	EnvironmentLabel string `yaml:"environment_label"`
	// DefaultEnvironment applies when nothing else names one.
	DefaultEnvironment string `yaml:"default_environment"`
	// Exempt namespaces and images are admitted without evaluation, also
	// when an UPDATE adds them.
	Exempt Exemptions `yaml:"exempt"`
	// Pin configures digest pinning by the mutating webhook.
	Pin PinConfig `yaml:"pin"`
	// FailureMode decides when an evaluation overruns Budget: fail-closed
	// (deny, the default) or fail-open (allow with a warning).
	FailureMode string `yaml:"failure_mode"`
	// Budget is the deadline of each request's evaluations. Default 2 s.
	Budget time.Duration `yaml:"budget"`
	// Kubernetes connects `admission serve` and `serve --admission-listen`
	// to the cluster (namespace labels, reconciliation). Default (nil):
	// no API calls; environments come from the globs.
	Kubernetes *KubernetesConfig `yaml:"kubernetes"`
}

// NamespaceEnvironment maps a namespace glob to an environment.
type NamespaceEnvironment struct {
	Namespace   string `yaml:"namespace"`
	Environment string `yaml:"environment"`
}

// Exemptions are globs: '*' matches any run of characters, '/' included;
// '?' one character. Images match against the reference as written and
// normalised (docker.io/library/nginx:1.27).
type Exemptions struct {
	Namespaces []string `yaml:"namespaces"`
	Images     []string `yaml:"images"`
}

// PinConfig selects the namespaces whose images are pinned to digests.
// Namespaces defaults to every namespace; Except wins over Namespaces.
type PinConfig struct {
	Disabled   bool     `yaml:"disabled"`
	Namespaces []string `yaml:"namespaces"`
	Except     []string `yaml:"except"`
}

// ParseConfig reads a YAML config strictly: unknown keys are errors, so a
// typo does not silently turn a setting off.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file (io.EOF) is the zero config.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("admission config: %w", err)
	}
	return c, c.Validate()
}

// Validate rejects settings that cannot mean what was intended.
func (c Config) Validate() error {
	switch c.FailureMode {
	case "", FailClosed, FailOpen:
	default:
		return fmt.Errorf("admission config: failure_mode %q: want %s or %s", c.FailureMode, FailClosed, FailOpen)
	}
	if c.Budget < 0 {
		return fmt.Errorf("admission config: budget %s is negative", c.Budget)
	}
	// Kubernetes waits at most 30 s for a webhook: a longer budget would
	// never be reached, and failure_mode would never apply.
	if limit := (&Webhook{cfg: c}).timeLimit(); limit > 30*time.Second {
		return fmt.Errorf("admission config: budget %s: the webhook would answer after %s, past the 30 s Kubernetes allows a webhook", c.Budget, limit)
	}
	for i, e := range c.Environments {
		if e.Namespace == "" || e.Environment == "" {
			return fmt.Errorf("admission config: environments[%d] needs namespace and environment", i)
		}
	}
	return c.Kubernetes.validate()
}

func (c Config) budget() time.Duration {
	if c.Budget == 0 {
		return DefaultBudget
	}
	return c.Budget
}

func (c Config) failOpen() bool { return c.FailureMode == FailOpen }

// environment picks the namespace's environment: its label, else the first
// matching mapping, else the default.
func (c Config) environment(namespace string, labels map[string]string) string {
	if c.EnvironmentLabel != "" {
		if v := labels[c.EnvironmentLabel]; v != "" {
			return v
		}
	}
	for _, e := range c.Environments {
		if glob(e.Namespace, namespace) {
			return e.Environment
		}
	}
	return c.DefaultEnvironment
}

func (c Config) pins(namespace string) bool {
	if c.Pin.Disabled || anyGlob(c.Pin.Except, namespace) {
		return false
	}
	return len(c.Pin.Namespaces) == 0 || anyGlob(c.Pin.Namespaces, namespace)
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against pattern: '*' any run of characters (including
// '/', so registry.k8s.io/* covers every repository there), '?' one byte.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
