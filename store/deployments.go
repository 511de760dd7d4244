package store

import "time"

// WorkloadKey names one workload in one cluster: the object admission saw
// (a Deployment, a bare Pod, a CronJob, …), not the Pods it creates.
type WorkloadKey struct {
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
}

// Workload is an admitted workload and the images its containers run.
// Recording it replaces what was recorded for the same key, so containers
// an update removed disappear.
type Workload struct {
	WorkloadKey
	Environment string
	Containers  []DeployedContainer
	At          time.Time
}

// DeployedContainer is one container of a workload. Digest is empty when
// the image was admitted without one (exempt, or unchanged by an update
// and written without a digest).
type DeployedContainer struct {
	Name   string
	Path   string // JSON path in the object: spec.template.spec.containers[0]
	Image  string // as written (after digest pinning)
	Digest string
}

// Deployment is one row of the deployment inventory: where a digest runs.
type Deployment struct {
	Cluster     string    `json:"cluster"`
	Namespace   string    `json:"namespace"`
	Kind        string    `json:"kind"`
	Workload    string    `json:"workload"`
	Container   string    `json:"container"`
	Path        string    `json:"path"`
	Image       string    `json:"image"`
	Digest      string    `json:"digest"`
	Environment string    `json:"environment"`
	FirstSeen   time.Time `json:"first_seen"` // first admitted with this image
	LastSeen    time.Time `json:"last_seen"`  // last admitted
}

// DeploymentFilter narrows an inventory query; zero values mean "any".
type DeploymentFilter struct {
	Cluster, Namespace, Environment, Kind, Workload, Digest string
}
