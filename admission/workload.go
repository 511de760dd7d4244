package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// container is one image of a workload and where it sits in the object:
// the pod spec's path, the list and the index. Path and Pointer are built
// only when a message, a patch or the inventory needs them.
type container struct {
	spec  []string // path of the pod spec, shared by its containers
	field string   // containers, initContainers, ephemeralContainers
	index int
	Name  string
	Image string
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

// objectShape is every place a pod spec sits in the kinds the webhook
// knows — a Pod's spec, a template's spec.template.spec, a CronJob's
// spec.jobTemplate.spec.template.spec, the legacy EphemeralContainers
// object — decoded in one pass, with nothing else of the object.
type objectShape struct {
	Metadata            *objectMeta  `json:"metadata"`
	Spec                *specShape   `json:"spec"`
	EphemeralContainers []namedImage `json:"ephemeralContainers"`
}

type specShape struct {
	podContainers
	Template    *templateShape `json:"template"`
	JobTemplate *struct {
		Spec *struct {
			Template *templateShape `json:"template"`
		} `json:"spec"`
	} `json:"jobTemplate"`
}

type templateShape struct {
	Spec *podContainers `json:"spec"`
}

// extractWorkload finds every container image of an object of the given
// kind. A known workload kind without its pod spec, or with one that does
// not decode, is an error: the object is malformed and is denied.
func extractWorkload(group, kind string, raw []byte) (workload, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return workload{Kind: kind}, fmt.Errorf("%s: request has no object", kind)
	}
	var o objectShape
	if err := json.Unmarshal(raw, &o); err != nil {
		if _, known := podSpecPath(group, kind); known {
			return workload{Kind: kind}, fmt.Errorf("%s: object does not decode: %v", kind, err)
		}
		return extractGeneric(kind, raw) // some other shape: look for a pod template only
	}
	return fromShape(group, kind, &o)
}

// fromShape reads a decoded object.
func fromShape(group, kind string, o *objectShape) (workload, error) {
	w := workload{Kind: kind}
	w.setMeta(o.Metadata)
	path, known := podSpecPath(group, kind)
	if !known {
		for _, p := range genericTemplatePaths {
			if pc := specAt(o, p); pc != nil {
				w.addContainers(p, pc)
				return w, nil
			}
		}
		return w, nil
	}
	pc := specAt(o, path)
	if pc == nil {
		return w, fmt.Errorf("%s: object has no %s", kind, strings.Join(path, "."))
	}
	w.addContainers(path, pc)
	if kind == "Pod" && len(w.Containers) == 0 {
		return w, fmt.Errorf("Pod: spec has no containers")
	}
	return w, nil
}

// specAt returns the pod spec at path, nil when the object has none there.
func specAt(o *objectShape, path []string) *podContainers {
	switch strings.Join(path, ".") {
	case "":
		return &podContainers{EphemeralContainers: o.EphemeralContainers}
	case "spec":
		if o.Spec != nil {
			return &o.Spec.podContainers
		}
	case "spec.template.spec":
		if o.Spec != nil && o.Spec.Template != nil {
			return o.Spec.Template.Spec
		}
	case "spec.jobTemplate.spec.template.spec":
		if o.Spec != nil && o.Spec.JobTemplate != nil && o.Spec.JobTemplate.Spec != nil && o.Spec.JobTemplate.Spec.Template != nil {
			return o.Spec.JobTemplate.Spec.Template.Spec
		}
	}
	return nil
}

func (w *workload) setMeta(meta *objectMeta) {
	if meta == nil {
		return
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

// extractGeneric handles objects of unknown kinds whose fields do not fit
// objectShape: it walks to a pod template key by key.
func extractGeneric(kind string, raw []byte) (workload, error) {
	w := workload{Kind: kind}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return w, fmt.Errorf("%s: object is not a JSON object: %v", kind, err)
	}
	if m, ok := top["metadata"]; ok {
		var meta objectMeta
		if json.Unmarshal(m, &meta) == nil {
			w.setMeta(&meta)
		}
	}
	for _, p := range genericTemplatePaths {
		spec, found, err := lookup(top, p)
		if err != nil || !found {
			continue
		}
		var pc podContainers
		if json.Unmarshal(spec, &pc) != nil {
			continue // not a pod template: no images the webhook knows of
		}
		w.addContainers(p, &pc)
		return w, nil
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

func (w *workload) addContainers(path []string, spec *podContainers) {
	add := func(field string, i int, name, image string) {
		if image == "" {
			return // nothing to run, nothing to check; the API server rejects it
		}
		w.Containers = append(w.Containers, container{spec: path, field: field, index: i, Name: name, Image: image})
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
}

// Path is the JSON path people read: spec.template.spec.initContainers[0].
func (c container) Path() string {
	p := c.field + "[" + strconv.Itoa(c.index) + "]"
	if len(c.spec) > 0 {
		p = strings.Join(c.spec, ".") + "." + p
	}
	return p
}

// Pointer is the JSON pointer of the container's image field, for patches.
func (c container) Pointer() string {
	segs := append(append([]string(nil), c.spec...), c.field, strconv.Itoa(c.index), "image")
	return pointer(segs)
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
