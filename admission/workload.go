package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// container is one image of a workload, where it sits in the object.
type container struct {
	Path    string // JSON path people read: spec.template.spec.initContainers[0]
	Pointer string // JSON pointer of its image field, for patches
	Name    string
	Image   string
	// Set by Webhook.group: the reference parsed, and names a digest.
	parsed, pinned bool
}

// workload is what the webhook needs from an admitted object.
type workload struct {
	Kind, Name, Namespace string
	// Owned is true when a controller owns the object (a ReplicaSet's Pod,
	// a Deployment's ReplicaSet): the owner is the workload of record.
	Owned      bool
	Containers []container
}

// podSpecPath says where a kind keeps its pod spec. ok is false for kinds
// the webhook does not know, which are searched for a pod template.
func podSpecPath(group, kind string) (path []string, ok bool) {
	switch group + "/" + kind {
	case "/Pod":
		return []string{"spec"}, true
	case "/EphemeralContainers": // the pods/ephemeralcontainers object of Kubernetes 1.16–1.22
		return nil, true
	case "apps/Deployment", "apps/ReplicaSet", "apps/StatefulSet", "apps/DaemonSet", "batch/Job", "/ReplicationController",
		"extensions/Deployment", "extensions/ReplicaSet", "extensions/DaemonSet":
		return []string{"spec", "template", "spec"}, true
	case "batch/CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}, true
	}
	return nil, false
}

// Pod templates of objects the webhook does not know by kind (custom
// resources, Argo Rollouts, OpenKruise, …).
var genericTemplatePaths = [][]string{
	{"spec", "template", "spec"},
	{"spec", "jobTemplate", "spec", "template", "spec"},
}

type objectMeta struct {
	Name            string `json:"name"`
	GenerateName    string `json:"generateName"`
	Namespace       string `json:"namespace"`
	OwnerReferences []struct {
		Controller *bool `json:"controller"`
	} `json:"ownerReferences"`
}

// extractWorkload finds every container image of an object of the given
// kind. A known workload kind without its pod spec, or with one that does
// not decode, is an error: the object is malformed and is denied.
func extractWorkload(group, kind string, raw []byte) (workload, error) {
	w := workload{Kind: kind}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return w, fmt.Errorf("%s: request has no object", kind)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return w, fmt.Errorf("%s: object is not a JSON object: %v", kind, err)
	}
	if m, ok := top["metadata"]; ok {
		var meta objectMeta
		if err := json.Unmarshal(m, &meta); err != nil {
			return w, fmt.Errorf("%s: metadata: %v", kind, err)
		}
		w.Name, w.Namespace = meta.Name, meta.Namespace
		if w.Name == "" {
			w.Name = meta.GenerateName
		}
		for _, o := range meta.OwnerReferences {
			if o.Controller != nil && *o.Controller {
				w.Owned = true
			}
		}
	}
	path, known := podSpecPath(group, kind)
	if !known {
		for _, p := range genericTemplatePaths {
			spec, found, err := lookup(top, p)
			if err != nil || !found {
				continue // not a pod template: no images the webhook knows of
			}
			return w, w.addPodSpec(p, spec, kind)
		}
		return w, nil
	}
	if path == nil {
		return w, w.addPodSpec(nil, raw, kind)
	}
	spec, found, err := lookup(top, path)
	if err != nil {
		return w, fmt.Errorf("%s: %s: %v", kind, strings.Join(path, "."), err)
	}
	if !found {
		return w, fmt.Errorf("%s: object has no %s", kind, strings.Join(path, "."))
	}
	if err := w.addPodSpec(path, spec, kind); err != nil {
		return w, err
	}
	if kind == "Pod" && len(w.Containers) == 0 {
		return w, fmt.Errorf("Pod: spec has no containers")
	}
	return w, nil
}

// lookup walks object keys; the last value is returned raw.
func lookup(top map[string]json.RawMessage, path []string) (json.RawMessage, bool, error) {
	cur := top
	for i, key := range path {
		v, ok := cur[key]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return nil, false, nil
		}
		if i == len(path)-1 {
			return v, true, nil
		}
		cur = nil
		if err := json.Unmarshal(v, &cur); err != nil {
			return nil, false, fmt.Errorf("%s is not an object", strings.Join(path[:i+1], "."))
		}
	}
	return nil, false, nil
}

// podContainers is the part of a core/v1 PodSpec the webhook reads, with
// the same JSON names. Decoding only this (instead of corev1.PodSpec, with
// its resource quantities, probes and volumes) is most of the webhook's
// speed; a container list of the wrong shape is still an error.
type podContainers struct {
	Containers          []namedImage `json:"containers"`
	InitContainers      []namedImage `json:"initContainers"`
	EphemeralContainers []namedImage `json:"ephemeralContainers"`
}

type namedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

func (w *workload) addPodSpec(path []string, raw json.RawMessage, kind string) error {
	var spec podContainers
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %s is not a pod spec: %v", kind, dotted(path), err)
	}
	add := func(field string, i int, name, image string) {
		if image == "" {
			return // nothing to run, nothing to check; the API server rejects it
		}
		segs := append(append([]string(nil), path...), field, strconv.Itoa(i))
		w.Containers = append(w.Containers, container{
			Path:    joinPath(path, field, i),
			Pointer: pointer(append(segs, "image")),
			Name:    name,
			Image:   image,
		})
	}
	for i, c := range spec.Containers {
		add("containers", i, c.Name, c.Image)
	}
	for i, c := range spec.InitContainers {
		add("initContainers", i, c.Name, c.Image)
	}
	for i, c := range spec.EphemeralContainers {
		add("ephemeralContainers", i, c.Name, c.Image)
	}
	return nil
}

func dotted(path []string) string {
	if len(path) == 0 {
		return "object"
	}
	return strings.Join(path, ".")
}

func joinPath(path []string, field string, i int) string {
	p := field + "[" + strconv.Itoa(i) + "]"
	if len(path) > 0 {
		p = strings.Join(path, ".") + "." + p
	}
	return p
}

// pointer builds a JSON pointer (RFC 6901): '~' is written ~0 and '/' ~1.
func pointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if strings.ContainsAny(s, "~/") {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
		}
		b.WriteString(s)
	}
	return b.String()
}
