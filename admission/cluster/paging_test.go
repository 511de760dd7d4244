package cluster

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// More Deployments than one page: the fake clientset ignores Limit and
// Continue, so a reactor serves pages as the API server does (at most
// Limit items, a continue token while more remain), and every Deployment
// of every page is deployed.
func TestDeployedWorkloadsReadsEveryPage(t *testing.T) {
	const n = 2*pageSize + 7
	client := fake.NewClientset()
	var limits []int64
	client.PrependReactor("list", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).GetListOptions()
		limits = append(limits, opts.Limit)
		start := 0
		if opts.Continue != "" {
			var err error
			if start, err = strconv.Atoi(opts.Continue); err != nil {
				return true, nil, fmt.Errorf("bad continue token %q", opts.Continue)
			}
		}
		end := min(start+int(opts.Limit), n)
		list := &appsv1.DeploymentList{}
		for i := start; i < end; i++ {
			list.Items = append(list.Items, appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", i)}})
		}
		if end < n {
			list.Continue = strconv.Itoa(end)
		}
		return true, list, nil
	})
	got, err := New(client).DeployedWorkloads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, k := range got {
		if k.Kind == "Deployment" {
			names[k.Name] = true
		}
	}
	if len(names) != n || !names["web-0"] || !names[fmt.Sprintf("web-%d", n-1)] {
		t.Errorf("%d Deployments deployed, want %d", len(names), n)
	}
	if len(limits) != 3 || limits[0] != pageSize {
		t.Errorf("list calls with limits %v, want 3 pages of %d", limits, pageSize)
	}
}
