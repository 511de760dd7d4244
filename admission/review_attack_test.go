package admission

import (
	"strconv"
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

// Hostile spellings of a Pod: whatever JSON trick carries a second image,
// the one Go's decoders (and so the API server) keep is the one
// evaluated, and an object that cannot be read is denied.
func TestHostileObjectsEvaluateWhatRuns(t *testing.T) {
	for _, c := range []struct {
		name, group, kind, object string
		want                      string // the image that must be evaluated; "" for a denial without evaluation
	}{
		{"image named twice", "", "Pod", `{"spec":{"containers":[{"name":"a","image":"ok:1","image":"evil:1"}]}}`, "evil:1"},
		{"image named twice, escaped", "", "Pod", `{"spec":{"containers":[{"name":"a","image":"ok:1","\u0069mage":"evil:1"}]}}`, "evil:1"},
		{"containers named twice", "", "Pod", `{"spec":{"containers":[{"name":"a","image":"ok:1"}],"containers":[{"name":"a","image":"evil:1"}]}}`, "evil:1"},
		{"spec named twice", "apps", "Deployment", `{"spec":{"template":{"spec":{"containers":[{"image":"ok:1"}]}}},"spec":{"template":{"spec":{"containers":[{"image":"evil:1"}]}}}}`, "evil:1"},
		{"null list beside a real one", "", "Pod", `{"spec":{"containers":null,"initContainers":[{"name":"i","image":"evil:1"}]}}`, "evil:1"},
		{"custom resource, image named twice", "acme.example", "Thing", `{"spec":{"template":{"spec":{"containers":[{"image":"ok:1","image":"evil:1"}]}}}}`, "evil:1"},
		{"a number for the image", "", "Pod", `{"spec":{"containers":[{"name":"a","image":7}]}}`, ""},
		{"an object for the list", "batch", "Job", `{"spec":{"template":{"spec":{"containers":{"image":"evil:1"}}}}}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &tableGate{fallback: &answer{verdict: gate.Allow}, table: map[string]answer{"evil:1": denied("sha256:"+hexA, enforce("signed", unsigned))}}
			w := newWebhook(t, g, Config{})
			ok, msg, _, _ := ask(t, w, reviewOf(c.group, c.kind, "CREATE", c.object), false)
			if ok {
				t.Fatalf("admitted (calls %v)", g.callCount())
			}
			if c.want != "" && g.callCount()[c.want] != 1 {
				t.Errorf("calls %v, want %s evaluated: %s", g.callCount(), c.want, msg)
			}
			if c.want == "" && !strings.Contains(msg, "cannot read the object") {
				t.Errorf("denial %q does not say the object cannot be read", msg)
			}
		})
	}
	// A second object in the request: the last one is what is admitted.
	body := []byte(strings.Replace(string(reviewOf("", "Pod", "CREATE", `{"spec":{"containers":[{"image":"evil:1"}]}}`)),
		`"object":`, `"object":{"spec":{"containers":[{"image":"ok:1"}]}},"object":`, 1))
	g := &tableGate{fallback: &answer{verdict: gate.Allow}, table: map[string]answer{"evil:1": denied("sha256:"+hexA, enforce("signed", unsigned))}}
	if ok, _, _, _ := ask(t, newWebhook(t, g, Config{}), body, false); ok || g.callCount()["evil:1"] != 1 {
		t.Errorf("second object: allowed=%v calls %v", ok, g.callCount())
	}
}

// A Pod naming thousands of distinct images has every one evaluated (at
// most maxParallel at a time), none dropped.
func TestThousandsOfImagesAllEvaluated(t *testing.T) {
	const n = 3000
	var b strings.Builder
	b.WriteString(`{"spec":{"containers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"c","image":"registry.example/app:` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}}`)
	g := &tableGate{fallback: &answer{verdict: gate.Allow}, table: map[string]answer{"registry.example/app:2999": denied("sha256:"+hexA, enforce("signed", unsigned))}}
	ok, msg, _, _ := ask(t, newWebhook(t, g, Config{}), reviewOf("", "Pod", "CREATE", b.String()), false)
	if ok || !strings.Contains(msg, `spec.containers[2999] (c) image "registry.example/app:2999"`) {
		t.Errorf("allowed=%v %.200s", ok, msg)
	}
	if calls := g.callCount(); len(calls) != n {
		t.Errorf("%d of %d images evaluated", len(calls), n)
	}
}
