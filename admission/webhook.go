package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/store"
)

// Evaluator answers for one image reference in a deployment context: the
// policy gate. It resolves tags to digests and must honour ctx's deadline,
// answering with Decision.Incomplete when it cannot finish.
type Evaluator interface {
	Evaluate(ctx context.Context, reference string, in gate.Input) gate.Decision
}

// NamespaceLabels looks up a namespace's labels (AdmissionRequests carry
// only the namespace's name). A client-go informer cache is the usual
// implementation.
type NamespaceLabels interface {
	NamespaceLabels(ctx context.Context, namespace string) (map[string]string, error)
}

// Recorder keeps the deployment inventory.
type Recorder interface {
	PutWorkload(ctx context.Context, w store.Workload) error
	DeleteWorkload(ctx context.Context, key store.WorkloadKey) error
}

// DefaultMaxBodyBytes is the request size limit when Options.MaxBodyBytes
// is zero: 3 MiB, the API server's own limit for an object.
const DefaultMaxBodyBytes int64 = 3 << 20

// overrunGrace is how long past the budget the webhook waits for an
// evaluator that honours the deadline to report it itself (with its own
// failure mode) before applying Config.FailureMode.
const overrunGrace = 250 * time.Millisecond

// Options configure a Webhook.
type Options struct {
	// Evaluator is the policy gate. Required.
	Evaluator Evaluator
	// Config holds environments, exemptions, pinning, failure mode, budget.
	Config Config
	// Namespaces supplies namespace labels for the environment. Default
	// (nil): environments come from Config only.
	Namespaces NamespaceLabels
	// Inventory records admitted workloads. Default (nil): none recorded.
	Inventory Recorder
	// Logger receives audit findings and decisions. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// MaxBodyBytes caps a request body. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Webhook answers AdmissionReviews. Build it with New; it is safe for
// concurrent use.
type Webhook struct {
	eval       Evaluator
	cfg        Config
	namespaces NamespaceLabels
	inventory  Recorder
	log        *slog.Logger
	now        func() time.Time
	maxBody    int64
	refs       refCache
	recorded   recordCache
}

// recordCache remembers what the inventory was last told about each
// workload: a controller re-admits the same workload many times (every
// scale, every rollout retry), and rewriting an identical row for each
// request made the store the webhook's bottleneck. An identical workload is
// written again only after recordRefresh (its last-seen time), a changed one
// at once. Emptied when full.
type recordCache struct {
	mu   sync.Mutex
	m    map[store.WorkloadKey]recordEntry
	seed maphash.Seed
}

type recordEntry struct {
	fingerprint uint64 // of what was written: a 64-bit hash, so a collision (one in 2^64) delays one update by recordRefresh
	at          time.Time
}

// recordRefresh bounds how stale a workload's last-seen time may be.
const recordRefresh = 30 * time.Second

// fresh reports whether rec was written less than recordRefresh ago with
// the same content, and otherwise notes that it is being written now.
func (c *recordCache) fresh(rec store.Workload) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.seed = maphash.MakeSeed()
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(rec.Environment)
	for _, ct := range rec.Containers {
		for _, f := range [...]string{ct.Name, ct.Path, ct.Image, ct.Digest} {
			h.WriteByte(0)
			h.WriteString(f)
		}
	}
	fp := h.Sum64()
	if e, ok := c.m[rec.WorkloadKey]; ok && e.fingerprint == fp && rec.At.Sub(e.at) < recordRefresh && !rec.At.Before(e.at) {
		return true
	}
	if c.m == nil || len(c.m) >= 100000 {
		c.m = map[store.WorkloadKey]recordEntry{} // the seed stays: fingerprints keep their meaning
	}
	c.m[rec.WorkloadKey] = recordEntry{fingerprint: fp, at: rec.At}
	return false
}

func (c *recordCache) forget(k store.WorkloadKey) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// refCache remembers how image references parse: a cluster runs a bounded
// set of image strings, and the reference grammar's regular expressions
// were a quarter of a request's CPU. Emptied when full.
type refCache struct {
	mu sync.RWMutex
	m  map[string]parsedRef
}

type parsedRef struct {
	key            string // normalised reference; the input when it does not parse
	parsed, pinned bool
	digest         string
}

const refCacheSize = 8192

func (c *refCache) parse(s string) parsedRef {
	c.mu.RLock()
	p, ok := c.m[s]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = parsedRef{key: s}
	if r, err := imageref.Parse(s); err == nil {
		p = parsedRef{key: r.String(), parsed: true, pinned: r.Pinned(), digest: r.Digest}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= refCacheSize {
		c.m = make(map[string]parsedRef, 64)
	}
	c.m[s] = p
	c.mu.Unlock()
	return p
}

// New builds a Webhook.
func New(opts Options) (*Webhook, error) {
	if opts.Evaluator == nil {
		return nil, errors.New("admission: Options.Evaluator is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	w := &Webhook{eval: opts.Evaluator, cfg: opts.Config, namespaces: opts.Namespaces, inventory: opts.Inventory,
		log: opts.Logger, now: opts.Now, maxBody: opts.MaxBodyBytes}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.maxBody <= 0 {
		w.maxBody = DefaultMaxBodyBytes
	}
	return w, nil
}

// Review answers one AdmissionReview body. mutate selects the mutating
// webhook's answer, which also carries the digest-pinning patch. The
// error is ErrMalformed (wrapped) when the body cannot be answered at all.
func (w *Webhook) Review(ctx context.Context, body []byte, mutate bool) (*admissionv1.AdmissionReview, error) {
	rv, err := decodeReview(body)
	if err != nil {
		return nil, err
	}
	resp := w.answer(ctx, rv, mutate)
	resp.UID = rv.req.UID
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: rv.apiVersion, Kind: "AdmissionReview"},
		Response: resp,
	}, nil
}

// use is one unique reference of a request and the containers naming it.
type use struct {
	ref        string // as first written
	containers []container
	decision   gate.Decision
}

func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

func deny(code int32, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: metav1.StatusReasonForbidden, Message: msg}}
}

func (w *Webhook) answer(ctx context.Context, rv review, mutate bool) *admissionv1.AdmissionResponse {
	req := rv.req
	start := w.now()
	kind := req.Kind.Kind
	switch req.Operation {
	case admissionv1.Delete:
		w.forget(ctx, req, rv.oldObject(), mutate)
		return allow() // whatever the store says: a delete is never the webhook's to refuse
	case admissionv1.Connect:
		return allow() // carries no workload to check
	case admissionv1.Create, admissionv1.Update:
	default: // none, or one this webhook does not know: its object is not judged, so not admitted
		return deny(http.StatusBadRequest, fmt.Sprintf("safeguard: unknown operation %q", req.Operation))
	}
	if kind == "" {
		return deny(http.StatusBadRequest, "safeguard: request names no kind")
	}
	wl, err := rv.object()
	if err != nil {
		return deny(http.StatusBadRequest, "safeguard: cannot read the object: "+err.Error())
	}
	if wl.Namespace == "" {
		wl.Namespace = req.Namespace
	}
	if wl.Name == "" {
		wl.Name = req.Name
	}
	if len(wl.Containers) == 0 {
		return allow()
	}
	ns := req.Namespace
	if anyGlob(w.cfg.Exempt.Namespaces, ns) {
		w.record(ctx, req, mutate, wl, nil, w.cfg.environment(ns, nil))
		return allow()
	}
	checked := wl.Containers
	if req.Operation == admissionv1.Update {
		checked = added(req.Kind.Group, kind, rv.oldObject(), wl)
	}
	uses, order := w.group(checked)
	if len(order) == 0 {
		w.record(ctx, req, mutate, wl, nil, w.cfg.environment(ns, nil))
		return allow()
	}
	in := gate.Input{Namespace: ns, Cluster: w.cfg.Cluster}
	var nsWarning string
	if w.namespaces != nil {
		labels, err := w.namespaces.NamespaceLabels(ctx, ns)
		if err != nil {
			msg := fmt.Sprintf("namespace %s: labels unavailable: %v", ns, err)
			if !w.cfg.failOpen() {
				return deny(http.StatusInternalServerError, "safeguard: "+msg+" (fail-closed)")
			}
			w.log.Warn("admission: namespace labels", "namespace", ns, "err", err)
			nsWarning = "safeguard: " + msg + "; evaluated without them (fail-open)"
		}
		in.Labels = labels
	}
	in.Environment = w.cfg.environment(ns, in.Labels)
	w.evaluate(ctx, in, uses, order)
	resp := w.respond(req, wl, uses, order, mutate)
	if nsWarning != "" {
		// The environment may be the wrong one: the person deploying is told.
		resp.Warnings = append(resp.Warnings, nsWarning)
	}
	if resp.Allowed {
		w.record(ctx, req, mutate, wl, uses, in.Environment)
	}
	if level := levelOf(resp); w.log.Enabled(ctx, level) {
		w.log.Log(ctx, level, "admission", "uid", string(req.UID), "operation", string(req.Operation), "kind", kind,
			"namespace", ns, "name", wl.Name, "allowed", resp.Allowed, "images", len(order), "mutate", mutate,
			"environment", in.Environment, "ms", float64(w.now().Sub(start).Microseconds())/1000)
	}
	return resp
}

// levelOf: a denial is news; an admission (its warnings went to the
// client, its decisions to the decision log) is a debug line, or a busy
// cluster's log would be one line per request.
func levelOf(r *admissionv1.AdmissionResponse) slog.Level {
	if !r.Allowed {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// added returns the containers of an UPDATE whose image the old object did
// not run anywhere: only what the change adds needs to pass. An old object
// that cannot be read counts as empty, so everything is checked.
func added(group, kind string, oldRaw []byte, wl workload) []container {
	old, err := extractWorkload(group, kind, oldRaw)
	if err != nil {
		return wl.Containers
	}
	had := make(map[string]bool, len(old.Containers))
	for _, c := range old.Containers {
		had[c.Image] = true
	}
	var out []container
	for _, c := range wl.Containers {
		if !had[c.Image] {
			out = append(out, c)
		}
	}
	return out
}

// group drops exempt images and groups containers by normalised
// reference, so each unique image is evaluated once per request. Each
// reference is parsed once here; what the patch needs is kept.
func (w *Webhook) group(cs []container) (map[string]*use, []string) {
	uses := make(map[string]*use, len(cs))
	var order []string
	for _, c := range cs {
		p := w.refs.parse(c.Image)
		key := p.key
		c.parsed, c.pinned = p.parsed, p.pinned
		if anyGlob(w.cfg.Exempt.Images, c.Image) || (key != c.Image && anyGlob(w.cfg.Exempt.Images, key)) {
			continue
		}
		u, ok := uses[key]
		if !ok {
			u = &use{ref: c.Image}
			uses[key] = u
			order = append(order, key)
		}
		u.containers = append(u.containers, c)
	}
	return uses, order
}

// maxParallel bounds the evaluations one request runs at a time: a Pod
// naming thousands of distinct images must not become thousands of
// concurrent registry fetches.
const maxParallel = 16

// evaluate asks the gate about every unique reference, at most maxParallel
// at a time, under one deadline. A reference without an answer by then
// gets the configured failure mode.
func (w *Webhook) evaluate(ctx context.Context, in gate.Input, uses map[string]*use, order []string) {
	pending := order
	if r, ok := w.eval.(reuser); ok {
		pending = nil
		for _, key := range order {
			if d, ok := r.Reuse(uses[key].ref, in); ok {
				uses[key].decision = d
			} else {
				pending = append(pending, key)
			}
		}
	}
	if len(pending) > 0 {
		w.evaluateAll(ctx, in, uses, pending)
	}
	for _, key := range order {
		u := uses[key]
		if u.decision.Verdict == "" { // no answer in time, or an evaluator that returned nothing
			u.decision = gate.Decision{Reference: u.ref, Verdict: gate.Deny, Incomplete: gate.IncompleteBudget}
			if w.cfg.failOpen() {
				u.decision.Verdict = gate.Allow
			}
		}
	}
}

// reuser is an Evaluator that can answer at once from a decision it made a
// moment ago (gate.Gate.Reuse): most reviews name images asked about just
// before, and answering those in the request's goroutine saves starting a
// worker per image.
type reuser interface {
	Reuse(reference string, in gate.Input) (gate.Decision, bool)
}

// evaluateAll runs the evaluations of order, at most maxParallel at a
// time, under one deadline.
func (w *Webhook) evaluateAll(ctx context.Context, in gate.Input, uses map[string]*use, order []string) {
	budget := w.cfg.budget()
	ectx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	type result struct {
		key string
		d   gate.Decision
	}
	results := make(chan result, len(order))
	jobs := make(chan string, len(order))
	for _, key := range order {
		jobs <- key
	}
	close(jobs)
	workers := min(len(order), maxParallel)
	for range workers {
		go func() {
			for key := range jobs {
				if ectx.Err() != nil {
					continue // out of time: left unanswered, so the failure mode applies
				}
				results <- result{key, w.eval.Evaluate(ectx, uses[key].ref, in)}
			}
		}()
	}
	wait := time.NewTimer(budget + overrunGrace)
	defer wait.Stop()
	got := 0
	for got < len(order) {
		select {
		case r := <-results:
			uses[r.key].decision = r.d
			got++
		case <-wait.C:
			got = len(order)
		case <-ctx.Done():
			got = len(order)
		}
	}
}

// respond turns the decisions into the AdmissionResponse: enforce
// violations deny, warn violations become warnings, audit ones are logged.
func (w *Webhook) respond(req *admissionv1.AdmissionRequest, wl workload, uses map[string]*use, order []string, mutate bool) *admissionv1.AdmissionResponse {
	var denials, warnings []string
	for _, key := range order {
		u := uses[key]
		d := u.decision
		if d.Allowed() && len(d.Violations) == 0 && d.Incomplete == "" {
			continue // the common answer: nothing to say
		}
		where := describe(u)
		if !d.Allowed() {
			denials = append(denials, where+": "+denyReasons(d, w.cfg))
		}
		for _, v := range d.Violations {
			switch v.Mode {
			case gate.ModeWarn:
				warnings = append(warnings, where+": "+v.Rule+": "+v.Message)
			case gate.ModeAudit:
				w.log.Info("admission audit", "uid", string(req.UID), "namespace", req.Namespace, "kind", wl.Kind, "name", wl.Name,
					"containers", where, "rule", v.Rule, "message", v.Message, "digest", d.Digest)
			}
		}
		if d.Allowed() && d.Incomplete != "" {
			warnings = append(warnings, where+": admitted without complete facts: "+d.Incomplete+" (fail-open)")
		}
	}
	if len(denials) > 0 {
		name := wl.Kind
		if wl.Name != "" {
			name += " " + req.Namespace + "/" + wl.Name
		}
		r := deny(http.StatusForbidden, "safeguard denied "+name+": "+strings.Join(denials, "; "))
		r.Warnings = warnings
		return r
	}
	r := allow()
	r.Warnings = warnings
	if mutate && w.cfg.pins(req.Namespace) {
		if patch := pinPatch(uses, order); patch != nil {
			r.Patch = patch
			pt := admissionv1.PatchTypeJSONPatch
			r.PatchType = &pt
		}
	}
	return r
}

// describe names the containers of one reference: "spec.containers[0]
// (app), spec.containers[1] (sidecar) image \"nginx:1.27\"".
func describe(u *use) string {
	parts := make([]string, len(u.containers))
	for i, c := range u.containers {
		parts[i] = c.Path()
		if c.Name != "" {
			parts[i] += " (" + c.Name + ")"
		}
	}
	return strings.Join(parts, ", ") + " image " + quote(u.ref)
}

// quote is strconv.Quote, without its rune-by-rune escaping for the usual
// reference (printable ASCII, nothing to escape).
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}

// denyReasons lists every failed enforce rule, or why there was no answer.
func denyReasons(d gate.Decision, cfg Config) string {
	var rs []string
	for _, v := range d.InMode(gate.ModeEnforce) {
		rs = append(rs, "rule "+v.Rule+": "+v.Message)
	}
	if d.Incomplete != "" {
		rs = append(rs, "not evaluated: "+d.Incomplete+" (fail-closed)")
	}
	if len(rs) == 0 {
		rs = append(rs, "denied by the policy gate")
	}
	return strings.Join(rs, ", ")
}

// isDigest accepts sha256:<64 lowercase hex>, the only digest written
// into objects.
func isDigest(d string) bool {
	const prefix = "sha256:"
	if len(d) != len(prefix)+64 || d[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(d); i++ {
		if c := d[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// pinPatch pins every evaluated, allowed, not yet pinned image to the
// digest the gate evaluated. The written reference keeps its tag.
func pinPatch(uses map[string]*use, order []string) []byte {
	var ops []patchOp
	for _, key := range order {
		u := uses[key]
		if u.decision.Digest == "" || !u.decision.Allowed() {
			continue
		}
		if !isDigest(u.decision.Digest) {
			continue // a digest that is not one is not written into the object
		}
		for _, c := range u.containers {
			if !c.parsed || c.pinned {
				continue // never re-pin; a malformed reference is the gate's to judge
			}
			ops = append(ops, patchOp{Op: "replace", Path: c.Pointer(), Value: c.Image + "@" + u.decision.Digest})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	b, _ := json.Marshal(ops) // strings only: cannot fail
	return b
}

// record writes an admitted top-level workload to the inventory. The
// validating webhook records (it answers last, with pinned images); the
// mutating one does not, dry runs change nothing, and an object being
// deleted is not recorded again.
func (w *Webhook) record(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool, wl workload, uses map[string]*use, env string) {
	if w.inventory == nil || mutate || wl.Owned || wl.Deleting || (req.DryRun != nil && *req.DryRun) || wl.Name == "" {
		return
	}
	digests := map[string]string{}
	for _, u := range uses {
		for _, c := range u.containers {
			digests[c.Path()] = u.decision.Digest
		}
	}
	rec := store.Workload{
		WorkloadKey: store.WorkloadKey{Cluster: w.cfg.Cluster, Namespace: req.Namespace, Kind: wl.Kind, Name: wl.Name},
		Environment: env,
		At:          w.now(),
	}
	for _, c := range wl.Containers {
		path := c.Path()
		d := digests[path]
		if p := w.refs.parse(c.Image); p.pinned {
			d = p.digest // what the node pulls
		}
		rec.Containers = append(rec.Containers, store.DeployedContainer{Name: c.Name, Path: path, Image: c.Image, Digest: d})
	}
	if w.recorded.fresh(rec) {
		return
	}
	if err := w.inventory.PutWorkload(ctx, rec); err != nil {
		w.recorded.forget(rec.WorkloadKey) // try again on the next request
		w.log.Error("admission: record deployment", "namespace", req.Namespace, "kind", wl.Kind, "name", wl.Name, "err", err)
	}
}

// forget removes a deleted top-level workload from the inventory. The
// object a controller owns (a ReplicaSet's Pod) was never recorded, and
// such deletions are most of them: they cost no store write. One recorded
// before a controller adopted it is removed by the next reconciliation.
func (w *Webhook) forget(ctx context.Context, req *admissionv1.AdmissionRequest, old []byte, mutate bool) {
	if w.inventory == nil || mutate || req.Name == "" || (req.DryRun != nil && *req.DryRun) || controlled(old) {
		return
	}
	key := store.WorkloadKey{Cluster: w.cfg.Cluster, Namespace: req.Namespace, Kind: req.Kind.Kind, Name: req.Name}
	w.recorded.forget(key)
	if err := w.inventory.DeleteWorkload(ctx, key); err != nil {
		w.log.Error("admission: forget deployment", "namespace", req.Namespace, "kind", req.Kind.Kind, "name", req.Name, "err", err)
	}
}

// controlled reports whether a raw object names a controller owner. An
// object that cannot be read counts as not owned, so its workload is
// forgotten rather than kept.
func controlled(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	var obj struct {
		Metadata *objectMeta `json:"metadata"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	var wl workload
	wl.setMeta(obj.Metadata)
	return wl.Owned
}
