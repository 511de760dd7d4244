package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// container is one image of a workload and where it sits in the object:
// the pod spec's path, the list and the index. Path and Pointer are built
// only when a message, a patch or the inventory needs them.
type container struct {
	spec  []string // path of the pod spec, shared by its containers
	field string   // containers, initContainers, ephemeralContainers, or volumes (an image volume)
	index int
	Name  string
	Image string
	// Set by Webhook.group: the reference parsed, and names a digest.
	parsed, pinned bool
	path           string // Path(), when built by newContainer
}

// workload is what the webhook needs from an admitted object.
type workload struct {
	Kind, Name, Namespace string
	// Owned is true when a controller owns the object (a ReplicaSet's Pod,
	// a Deployment's ReplicaSet): the owner is the workload of record.
	Owned bool
	// Deleting is true when the object carries a deletionTimestamp: the
	// UPDATEs that remove its finalizers come after the DELETE that
	// forgot it, and must not record it again.
	Deleting   bool
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

type objectMeta struct {
	Name         string `json:"name"`
	GenerateName string `json:"generateName"`
	Namespace    string `json:"namespace"`
	// DeletionTimestamp is set once the object is being deleted (it waits
	// for finalizers): any value counts, so it is kept raw.
	DeletionTimestamp json.RawMessage `json:"deletionTimestamp"`
	OwnerReferences   []struct {
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
	if _, known := podSpecPath(group, kind); !known {
		return extractGeneric(kind, raw)
	}
	var o objectShape
	if err := json.Unmarshal(raw, &o); err != nil {
		return workload{Kind: kind}, fmt.Errorf("%s: object does not decode: %v", kind, err)
	}
	return fromShape(group, kind, &o)
}

// fromShape reads a decoded object.
func fromShape(group, kind string, o *objectShape) (workload, error) {
	w := workload{Kind: kind}
	w.setMeta(o.Metadata)
	path, known := podSpecPath(group, kind)
	if !known {
		return w, fmt.Errorf("%s: not a kind with a known pod spec", kind) // callers walk these raw
	}
	pc := specAt(o, path)
	if pc == nil {
		return w, fmt.Errorf("%s: object has no %s", kind, strings.Join(path, "."))
	}
	w.addContainers(path, pc)
	if kind == "Pod" && !slices.ContainsFunc(w.Containers, func(c container) bool { return c.field != volumesField }) {
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
	w.Deleting = len(meta.DeletionTimestamp) > 0 && string(meta.DeletionTimestamp) != "null"
	if w.Name == "" {
		w.Name = meta.GenerateName
	}
	for _, o := range meta.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			w.Owned = true
		}
	}
}

// containerLists are the keys under which a pod spec lists containers.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// volumesField is a pod spec's volume list: an image volume
// (volumes[].image.reference) is an OCI image the kubelet pulls and mounts
// into the containers, so it is checked like a container's image.
const volumesField = "volumes"

// extractGeneric handles objects of kinds the webhook does not know
// (custom resources, Argo Rollouts, OpenKruise, …): a pod template may sit
// at any path — spec.template.spec, spec.jobTemplate.spec.template.spec,
// spec.workload.template.spec, a list of them — so the whole object
// (metadata and status aside) is walked, and every containers,
// initContainers and ephemeralContainers list found anywhere is checked.
// Keys match exactly, as the API server and controllers read them.
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
	keys := make([]string, 0, len(top))
	for k := range top {
		if k != "metadata" && k != "status" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v any
		if json.Unmarshal(top[k], &v) != nil {
			continue // cannot happen: top decoded
		}
		w.walk([]string{k}, v)
		if containerLists[k] {
			w.addList(nil, k, v)
		} else if k == volumesField {
			w.addVolumes(nil, v)
		}
	}
	return w, nil
}

// walk adds the containers of every container list under v, at path.
func (w *workload) walk(path []string, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if containerLists[k] {
				w.addList(path, k, v[k])
			} else if k == volumesField {
				w.addVolumes(path, v[k])
			}
			w.walk(append(path[:len(path):len(path)], k), v[k])
		}
	case []any:
		for i, e := range v {
			w.walk(append(path[:len(path):len(path)], strconv.Itoa(i)), e)
		}
	}
}

// addList adds the entries of a container list that name an image.
func (w *workload) addList(spec []string, field string, v any) {
	list, ok := v.([]any)
	if !ok {
		return
	}
	for i, e := range list {
		c, ok := e.(map[string]any)
		if !ok {
			continue
		}
		image, _ := c["image"].(string)
		if image == "" {
			continue
		}
		name, _ := c["name"].(string)
		w.Containers = append(w.Containers, newContainer(spec, field, i, name, image))
	}
}

// addVolumes adds the image volumes of a volume list.
func (w *workload) addVolumes(spec []string, v any) {
	list, ok := v.([]any)
	if !ok {
		return
	}
	for i, e := range list {
		vol, ok := e.(map[string]any)
		if !ok {
			continue
		}
		src, ok := vol["image"].(map[string]any)
		if !ok {
			continue
		}
		ref, _ := src["reference"].(string)
		if ref == "" {
			continue
		}
		w.Containers = append(w.Containers, newContainer(spec, volumesField, i, "", ref)) // named by its path, as in addContainers
	}
}

// podContainers is the part of a core/v1 PodSpec the webhook reads, with
// the same JSON names. Decoding only this (instead of corev1.PodSpec, with
// its resource quantities, probes and volumes) is most of the webhook's
// speed; a container list of the wrong shape is still an error.
type podContainers struct {
	Containers          []namedImage  `json:"containers"`
	InitContainers      []namedImage  `json:"initContainers"`
	EphemeralContainers []namedImage  `json:"ephemeralContainers"`
	Volumes             []imageVolume `json:"volumes"`
}

// imageVolume is a volume, of which only an image source is read (not
// its name, an allocation per volume of every kind: the path names it).
type imageVolume struct {
	Image *struct {
		Reference string `json:"reference"`
	} `json:"image"`
}

type namedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

func (w *workload) addContainers(path []string, spec *podContainers) {
	// One allocation for the lot instead of append's doublings.
	w.Containers = slices.Grow(w.Containers, len(spec.Containers)+len(spec.InitContainers)+len(spec.EphemeralContainers))
	add := func(field string, i int, name, image string) {
		if image == "" {
			return // nothing to run, nothing to check; the API server rejects it
		}
		w.Containers = append(w.Containers, newContainer(path, field, i, name, image))
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
	for i, v := range spec.Volumes {
		if v.Image != nil {
			add(volumesField, i, "", v.Image.Reference)
		}
	}
}

// Path is the JSON path people read: spec.template.spec.initContainers[0].
// A list index in the spec's path (a custom resource's list of
// templates) is written [n]: spec.jobs[1].template.spec.containers[0].
func (c container) Path() string {
	if c.path != "" {
		return c.path
	}
	return c.makePath()
}

// newContainer builds a container with its path, which every answer and
// inventory row names: computed once.
func newContainer(spec []string, field string, index int, name, image string) container {
	c := container{spec: spec, field: field, index: index, Name: name, Image: image}
	c.path = c.makePath()
	return c
}

func (c container) makePath() string {
	var b strings.Builder
	for _, s := range c.spec {
		if _, err := strconv.Atoi(s); err == nil && s[0] != '-' && s[0] != '+' {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(c.field + "[" + strconv.Itoa(c.index) + "]")
	return b.String()
}

// Pointer is the JSON pointer of the container's image field, for patches.
func (c container) Pointer() string {
	segs := append(append([]string(nil), c.spec...), c.field, strconv.Itoa(c.index), "image")
	if c.field == volumesField {
		segs = append(segs, "reference")
	}
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
