package cluster

import (
	"context"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/safeguard-dev/safeguard/admission"
)

// The install manifests' ClusterRole grants exactly the calls this
// package makes: each call is allowed (or the installed webhook would be
// forbidden) and each grant is used (least privilege).
func TestClusterRoleMatchesTheCalls(t *testing.T) {
	client := fake.NewClientset(namespace("shop", nil), pod("shop", "web", "Running", nil))
	ns := started(t, client)                                                                    // list and watch
	if _, err := ns.NamespaceLabels(context.Background(), "created-a-moment-ago"); err != nil { // get
		t.Fatal(err)
	}
	if _, err := New(client).DeployedWorkloads(context.Background()); err != nil { // the reconciliation's lists
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, a := range client.Actions() {
		r := a.GetResource()
		used[r.Group+"/"+r.Resource+" "+a.GetVerb()] = true
	}
	granted := map[string]bool{}
	for _, rule := range admission.ClusterRules() {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				for _, v := range rule.Verbs {
					granted[g+"/"+res+" "+v] = true
				}
			}
		}
	}
	if got, want := keys(used), keys(granted); got != want {
		t.Errorf("calls made:  %s\ncalls granted: %s", got, want)
	}
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
