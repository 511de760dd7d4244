package admission

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/safeguard-dev/safeguard/gate"
)

// containerImages walks any object for container lists, independently of
// the extractor: every image under containers, initContainers or
// ephemeralContainers anywhere.
func containerImages(v any, inList bool, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if k == "image" && inList {
				if s, ok := c.(string); ok {
					*out = append(*out, s)
				}
				continue
			}
			containerImages(c, k == "containers" || k == "initContainers" || k == "ephemeralContainers", out)
		}
	case []any:
		for _, c := range x {
			if inList {
				containerImages(c, true, out)
			} else {
				containerImages(c, false, out)
			}
		}
	}
}

// resolvePointer follows a JSON pointer through decoded JSON.
func resolvePointer(t *testing.T, doc any, ptr string) any {
	t.Helper()
	cur := doc
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case map[string]any:
			cur = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(x) {
				t.Fatalf("pointer %s: bad index %s", ptr, seg)
			}
			cur = x[i]
		default:
			t.Fatalf("pointer %s leads nowhere", ptr)
		}
	}
	return cur
}

// Real manifests (kube-prometheus, Online Boutique), each object wrapped in
// an AdmissionReview CREATE: every container image is evaluated once, and
// the mutating answer patches exactly the unpinned ones, at pointers that
// lead to those images in the object.
func TestRealWorkloadManifests(t *testing.T) {
	files, _ := filepath.Glob("testdata/workloads/*/*.yaml")
	if len(files) < 9 {
		t.Fatalf("only %d manifest files", len(files))
	}
	objects, withImages := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitDocs(raw) {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var obj map[string]any
			if json.Unmarshal(js, &obj) != nil || obj == nil {
				continue
			}
			objects++
			apiVersion, _ := obj["apiVersion"].(string)
			kind, _ := obj["kind"].(string)
			group, version := "", apiVersion
			if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
				group, version = apiVersion[:i], apiVersion[i+1:]
			}
			meta, _ := obj["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			body, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
				"uid": "w-" + name, "kind": map[string]any{"group": group, "version": version, "kind": kind},
				"namespace": "shop", "name": name, "operation": "CREATE", "object": json.RawMessage(js)}})
			var want []string
			containerImages(obj, false, &want)
			g := &tableGate{fallback: &answer{verdict: gate.Allow}}
			w := newWebhook(t, g, Config{})
			out, err := w.Review(t.Context(), body, true)
			if err != nil {
				t.Fatalf("%s %s/%s: %v", f, kind, name, err)
			}
			checkAnswer(t, body, out)
			if !out.Response.Allowed {
				t.Errorf("%s %s/%s denied: %s", f, kind, name, out.Response.Result.Message)
			}
			calls := g.callCount()
			unique := map[string]bool{}
			for _, im := range want {
				unique[im] = true
			}
			if len(calls) != len(unique) {
				t.Errorf("%s %s/%s: evaluated %v, want %v", f, kind, name, calls, want)
			}
			for im := range unique {
				if calls[im] != 1 {
					t.Errorf("%s %s/%s: %s evaluated %d times", f, kind, name, im, calls[im])
				}
			}
			ops := patchOps(t, out.Response.Patch)
			unpinned := 0
			for _, im := range want {
				if !strings.Contains(im, "@") {
					unpinned++
				}
			}
			if len(ops) != unpinned {
				t.Errorf("%s %s/%s: %d patch ops for %d unpinned images", f, kind, name, len(ops), unpinned)
			}
			var decoded any
			json.Unmarshal(js, &decoded)
			for _, op := range ops {
				at, _ := resolvePointer(t, decoded, op.Path).(string)
				if at == "" || !strings.HasPrefix(op.Value, at+"@sha256:") {
					t.Errorf("%s: patch %s=%s, but the object has %q there", f, op.Path, op.Value, at)
				}
			}
			if len(want) > 0 {
				withImages++
			}
		}
	}
	if withImages < 18 {
		t.Errorf("only %d of %d objects had container images", withImages, objects)
	}
}
