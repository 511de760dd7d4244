package admission

import (
	"strings"
	"testing"

	"github.com/safeguard-dev/safeguard/gate"
)

func reviewOf(group, kind, op, object string) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"hostile","kind":{"group":"` + group +
		`","version":"v1","kind":"` + kind + `"},"namespace":"ns","name":"x","operation":"` + op + `","object":` + object + `}}`)
}

// An image volume (Pod spec.volumes[].image.reference, KEP-4639; in
// k8s.io/api's PodSpec) is an OCI image the kubelet pulls and mounts into
// the containers: it is an image the Pod runs, and must pass the gate like
// a container's.
func TestImageVolumesAreEvaluated(t *testing.T) {
	g := &tableGate{fallback: &answer{verdict: gate.Allow}, table: map[string]answer{"evil.example/tools:1": denied("sha256:"+hexA, enforce("approved-registries", "evil.example is not approved"))}}
	w := newWebhook(t, g, Config{})
	volume := `"volumes":[{"name":"tools","image":{"reference":"evil.example/tools:1","pullPolicy":"IfNotPresent"}}]`
	for _, c := range []struct{ group, kind, object string }{
		{"", "Pod", `{"metadata":{"name":"x"},"spec":{"containers":[{"name":"app","image":"ok:1","volumeMounts":[{"name":"tools","mountPath":"/t"}]}],` + volume + `}}`},
		{"apps", "Deployment", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"ok:1"}],` + volume + `}}}}`},
		{"acme.example", "Thing", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"ok:1"}],` + volume + `}}}}`},
	} {
		ok, msg, _, _ := ask(t, w, reviewOf(c.group, c.kind, "CREATE", c.object), false)
		if ok || !strings.Contains(msg, "evil.example/tools:1") {
			t.Errorf("%s with an unapproved image volume: allowed=%v %q (calls %v)", c.kind, ok, msg, g.callCount())
		}
	}
}

// An allowed image volume is pinned where it is written, and an UPDATE
// that adds one is checked.
func TestImageVolumesPinnedAndCheckedOnUpdate(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"ok:1":                 allowed("sha256:" + hexB),
		"tools.example/t:1":    allowed("sha256:" + hexC),
		"evil.example/tools:1": denied("sha256:"+hexA, enforce("approved-registries", "evil.example is not approved")),
	}}
	w := newWebhook(t, g, Config{})
	pod := func(vol string) string {
		return `{"metadata":{"name":"x"},"spec":{"containers":[{"name":"app","image":"ok:1"}],"volumes":[{"name":"cfg","configMap":{"name":"c"}},{"name":"tools","image":{"reference":"` + vol + `"}}]}}`
	}
	ok, _, _, ops := ask(t, w, reviewOf("", "Pod", "CREATE", pod("tools.example/t:1")), true)
	want := map[string]string{"/spec/containers/0/image": "ok:1@sha256:" + hexB, "/spec/volumes/1/image/reference": "tools.example/t:1@sha256:" + hexC}
	got := map[string]string{}
	for _, op := range ops {
		got[op.Path] = op.Value
	}
	if !ok || len(got) != len(want) || got["/spec/volumes/1/image/reference"] != want["/spec/volumes/1/image/reference"] || got["/spec/containers/0/image"] != want["/spec/containers/0/image"] {
		t.Errorf("pin patch %+v, want %v", ops, want)
	}
	update := []byte(strings.Replace(string(reviewOf("", "Pod", "UPDATE", pod("evil.example/tools:1"))), `"object":`, `"oldObject":`+pod("tools.example/t:1")+`,"object":`, 1))
	if ok, msg, _, _ := ask(t, w, update, false); ok || !strings.Contains(msg, `spec.volumes[1] image "evil.example/tools:1"`) {
		t.Errorf("UPDATE adding an image volume: allowed=%v %s", ok, msg)
	}
}
