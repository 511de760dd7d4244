package api

import (
	"context"
	"net/http"

	"github.com/safeguard-dev/safeguard/store"
)

// DeploymentReader reads the deployment inventory the admission webhook
// keeps: which digest runs in which cluster, namespace and environment.
type DeploymentReader interface {
	Deployments(ctx context.Context, f store.DeploymentFilter) ([]store.Deployment, error)
}

// deploymentParams are the filters of GET /api/v1/deployments.
var deploymentParams = []string{"cluster", "namespace", "environment", "kind", "workload", "digest"}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := query(r)
	var f store.DeploymentFilter
	for _, p := range []struct {
		name string
		dst  *string
	}{{"cluster", &f.Cluster}, {"namespace", &f.Namespace}, {"environment", &f.Environment},
		{"kind", &f.Kind}, {"workload", &f.Workload}, {"digest", &f.Digest}} {
		v, err := q.one(p.name)
		if err != nil {
			return err
		}
		*p.dst = v
	}
	ds, err := s.store.Deployments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Deployments []store.Deployment `json:"deployments"`
	}{nonNil(ds)})
	return nil
}
