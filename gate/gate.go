package gate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/policy"
	"github.com/safeguard-dev/safeguard/sigstatus"
	"github.com/safeguard-dev/safeguard/store"
)

// Failure modes: what an incomplete decision (budget exceeded, registry
// unreachable, image not found) means.
const (
	FailClosed = "fail-closed" // deny, with a violation naming the reason (default)
	FailOpen   = "fail-open"   // allow, with a warn violation naming the reason
)

// IncompleteStore: the store could not be read. (Added beside the other
// Incomplete reasons.)
const IncompleteStore = "store_error"

// IncompleteNoFeeds: the policy reads findings but the store has never
// imported a vulnerability feed, so every image would look clean.
const IncompleteNoFeeds = "no_feeds"

// RuleGate names the violation an incomplete decision carries; RuleReferences
// the one a malformed reference carries (the references rule's type).
const (
	RuleGate       = "gate"
	RuleReferences = policy.TypeReferences
)

// Defaults.
const (
	DefaultBudget = 2 * time.Second
	DefaultTagTTL = 30 * time.Second
	maxTagCache   = 10000
)

// Store is what gathering facts reads. store/sqlite implements it.
type Store interface {
	Image(ctx context.Context, digest string) (store.Image, error)
	IndexChildren(ctx context.Context, digest string) ([]string, error)
	Tags(ctx context.Context, digest string) ([]string, error)
	CurrentTags(ctx context.Context, repository string) (map[string]string, error)
	ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error)
	Referrers(ctx context.Context, subject string) ([]store.Referrer, error)
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	BaseChain(ctx context.Context, digest string) ([]store.BaseLink, error)
	TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error)
	FeedGeneration(ctx context.Context) (int64, error)
	VEXGeneration(ctx context.Context) (int64, error)
	VEXStates(ctx context.Context, fs []store.Finding) (map[int]string, error)
	AdvisoriesPublished(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// Signatures returns an image's signature status under the trust policy
// (a *sigstatus.Checker).
type Signatures interface {
	Status(ctx context.Context, digest, indexDigest string) (sigstatus.Detail, error)
}

// Source is the registry side: resolving a tag to the digest it points at
// now, and fetching an image never seen before (its manifest, config,
// referrers, signatures and attached SBOMs) into the store. Registries
// implements it over registry.Crawler.
type Source interface {
	Resolve(ctx context.Context, ref imageref.Ref) (digest string, err error)
	Fetch(ctx context.Context, ref imageref.Ref) (digest string, err error)
}

// DecisionLog records decisions (store/sqlite's PutDecision).
type DecisionLog interface {
	PutDecision(ctx context.Context, d store.DecisionRecord) (int64, error)
}

// Options configure a Gate. Policy and Store are required.
type Options struct {
	Policy *policy.Policy
	Store  Store
	// Signatures gives signature statuses. Default nil: the status is
	// unknown, and a signature rule fails.
	Signatures Signatures
	// Source resolves tags and fetches unknown images. Default nil: tags
	// resolve from the store's current tags, and an unknown digest is
	// incomplete (image_not_found).
	Source Source
	// Log receives every decision. Default nil: not logged.
	Log DecisionLog
	// Caller is recorded with each logged decision (cli, api, admission).
	Caller string
	// Budget bounds one Evaluate call, resolution and on-the-spot fetch
	// included. Default DefaultBudget (2 s).
	Budget time.Duration
	// FailureMode is FailClosed (default) or FailOpen.
	FailureMode string
	// TagTTL is how long a tag→digest resolution is reused. Default
	// DefaultTagTTL (30 s); negative disables the cache.
	TagTTL time.Duration
	// FactsTTL is how long the facts gathered for a digest (findings,
	// signature status, base chain, tags, SBOMs) are reused before the store
	// is read again; what changes them in this process should call
	// Invalidate. Default 0: read the store for every decision (one-shot
	// CLI runs). A webhook sets a few seconds, so a request for known
	// digests is a lookup plus the policy evaluation.
	FactsTTL time.Duration
	// Now is the clock (waiver expiry, image age, timestamps). Default time.Now.
	Now func() time.Time
	// Logger receives decision-log failures. Default: discard.
	Logger *slog.Logger
}

// Gate evaluates image references against one policy. Safe for concurrent use.
type Gate struct {
	o   Options
	mu  sync.Mutex
	tag map[string]tagEntry
	// found caches findings per set of SBOMs at one feed and VEX
	// generation: reading 200 findings is most of a decision's cost, and
	// they change only when a feed or VEX import (each bumps its
	// generation) or a new SBOM (a new set) changes them.
	found map[string]foundEntry
	imgs  map[string]store.Image
	// gathered caches facts per digest for FactsTTL (monotonic time, not
	// the policy clock, which tests and waivers move).
	gathered map[string]factsEntry
	// decided reuses whole decisions per reference and context (memoEntry).
	decided  map[string]*memoEntry
	inflight map[string]*flight
	// epoch counts Invalidate calls: facts read, or a decision made, across
	// one are not cached.
	epoch uint64
	// parsed caches how references parse: a cluster asks about a bounded
	// set of strings, and the grammar's regular expressions cost more than
	// the policy evaluation of a known digest.
	parsed map[string]parsedEntry
}

type parsedEntry struct {
	ref imageref.Ref
	err error
}

func (g *Gate) parse(reference string) (imageref.Ref, error) {
	g.mu.Lock()
	e, ok := g.parsed[reference]
	g.mu.Unlock()
	if ok {
		return e.ref, e.err
	}
	ref, err := imageref.Parse(reference)
	g.mu.Lock()
	if len(g.parsed) >= maxTagCache {
		clear(g.parsed)
	}
	g.parsed[reference] = parsedEntry{ref, err}
	g.mu.Unlock()
	return ref, err
}

type factsEntry struct {
	facts policy.Facts
	at    time.Time
}

// Invalidate drops the facts cached per digest and the decisions reused
// from them, so the next decisions read the store: call it after a feed import, a crawl or a signature update in
// the same process.
func (g *Gate) Invalidate() {
	g.mu.Lock()
	g.epoch++ // what is being read now is not kept: it may predate the change
	clear(g.gathered)
	clear(g.decided)
	// Nor is it the answer for questions asked from now on: they start
	// their own evaluation (land deletes only its own flight).
	clear(g.inflight)
	g.mu.Unlock()
}

type foundEntry struct {
	generation, vexGeneration int64
	findings                  []policy.Finding
}

type tagEntry struct {
	digest string
	at     time.Time
}

// New builds a Gate.
func New(o Options) (*Gate, error) {
	if o.Policy == nil || o.Store == nil {
		return nil, errors.New("gate: Policy and Store are required")
	}
	switch o.FailureMode {
	case "":
		o.FailureMode = FailClosed
	case FailClosed, FailOpen:
	default:
		return nil, fmt.Errorf("gate: failure mode %q: want %s or %s", o.FailureMode, FailClosed, FailOpen)
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.TagTTL == 0 {
		o.TagTTL = DefaultTagTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Gate{o: o, tag: map[string]tagEntry{}, found: map[string]foundEntry{}, imgs: map[string]store.Image{}, gathered: map[string]factsEntry{}, decided: map[string]*memoEntry{}, inflight: map[string]*flight{}, parsed: map[string]parsedEntry{}}, nil
}

// Policy is the policy the gate evaluates.
func (g *Gate) Policy() *policy.Policy { return g.o.Policy }

// incomplete is why facts could not be gathered.
type incomplete struct {
	reason string
	err    error
}

func (e *incomplete) Error() string { return e.reason + ": " + e.err.Error() }

// Evaluate decides whether reference may run in the deployment in. It never
// returns an error: a malformed reference is a violation of the references
// rule, and facts that could not be gathered make the decision Incomplete,
// which the failure mode turns into deny (fail-closed) or allow with a
// warning (fail-open). Every decision goes to the decision log.
func (g *Gate) Evaluate(ctx context.Context, reference string, in Input) Decision {
	start := time.Now()
	now := g.o.Now()
	var key string
	if g.o.FactsTTL > 0 {
		key = memoKey(reference, in)
		if e := g.memoised(key, start, now); e != nil {
			return g.again(ctx, e.d, in, e, start, now)
		}
	}
	// One budget for the call: time spent waiting for the same question in
	// flight is spent from it, so a waiter whose evaluation ran out of time
	// does not start a budget anew.
	ctx, cancel := context.WithDeadline(ctx, start.Add(g.o.Budget))
	defer cancel()
	if key != "" {
		f, e, inc := g.join(ctx, key)
		switch {
		case f != nil:
			// This call evaluates; the same questions asked meanwhile wait
			// for its answer instead of repeating the work. Landed even if
			// the evaluation panics (net/http recovers it), or the question
			// would stay in flight for ever.
			var mine *memoEntry
			var answer *Decision // nil after a panic: the waiters try themselves
			defer func() { g.land(key, f, mine, answer) }()
			d, m := g.evaluate(ctx, reference, in, key, start, now)
			mine, answer = m, &d
			return d
		case e != nil:
			return g.again(ctx, e.d, in, e, start, now)
		case inc != nil:
			// The evaluation waited for could not finish (a registry down):
			// its answer, not one retry per waiter against a registry that
			// is struggling. Not reused later.
			return g.again(ctx, *inc, in, nil, start, now)
		}
	}
	d, _ := g.evaluate(ctx, reference, in, key, start, now)
	return d
}

// evaluate makes a decision within ctx's budget, memoised under key (when
// not empty and the decision is complete), and logs it.
func (g *Gate) evaluate(ctx context.Context, reference string, in Input, key string, start, now time.Time) (Decision, *memoEntry) {
	d := Decision{Reference: reference, Verdict: Allow, Violations: []Violation{}, PolicyHash: g.o.Policy.Hash(), EvaluatedAt: now.UTC()}
	g.mu.Lock()
	epoch := g.epoch
	g.mu.Unlock()
	// factsAt is when what decided was read from the store: a reused
	// decision is never older than the facts TTL allows.
	factsAt := start
	ref, err := g.parse(reference)
	if err != nil {
		d.Verdict = Deny
		d.Violations = append(d.Violations, Violation{Rule: RuleReferences, Mode: ModeEnforce, Message: imageref.Malformed(err).Message})
	} else if pre := g.o.Policy.EvaluateReference(refFacts(ref), deployment(in), now); pre.Verdict == Deny {
		// Refused on the reference alone (a typosquat, :latest where a pin
		// is required): no request goes to a look-alike registry.
		d.Verdict = Deny
		for _, v := range pre.Violations {
			d.Violations = append(d.Violations, Violation{Rule: v.Rule, Mode: v.Mode, Message: v.Message})
		}
	} else if facts, at, ferr := g.facts(ctx, ref, epoch); ferr != nil {
		var inc *incomplete
		if !errors.As(ferr, &inc) {
			inc = &incomplete{reason: IncompleteStore, err: ferr}
			if ctx.Err() != nil {
				inc.reason = IncompleteBudget // the store read was cut short by the budget
			}
		}
		d.Digest = facts.Digest
		d.Incomplete = inc.reason
		msg := incompleteMessage(inc)
		if g.o.FailureMode == FailOpen {
			d.Violations = append(d.Violations, Violation{Rule: RuleGate, Mode: ModeWarn, Message: msg + " (fail-open: allowed)"})
		} else {
			d.Verdict = Deny
			d.Violations = append(d.Violations, Violation{Rule: RuleGate, Mode: ModeEnforce, Message: msg + " (fail-closed: denied)"})
		}
	} else {
		factsAt = at
		d.Digest = facts.Digest
		res := g.o.Policy.Evaluate(facts, deployment(in), now)
		d.Verdict = res.Verdict
		for _, v := range res.Violations {
			d.Violations = append(d.Violations, Violation{Rule: v.Rule, Mode: v.Mode, Message: v.Message})
		}
		d.Suppressed = res.Suppressed
		d.ExpiredWaivers = res.ExpiredWaivers
	}
	d.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	var e *memoEntry
	if key != "" && d.Incomplete == "" {
		// An incomplete decision is not reused: the registry may answer
		// the next time.
		e = g.memoise(key, d, factsAt, now, epoch)
	}
	g.log(context.WithoutCancel(ctx), d, in, e)
	return d, e
}

// flight is an evaluation in progress that others wait for.
type flight struct {
	done chan struct{}
	e    *memoEntry // the answer, nil if it was incomplete
	inc  *Decision  // the incomplete answer, for those who waited for it
}

// join returns the answer of an evaluation of key in flight (waiting for
// it until ctx, which carries the call's budget, ends), or makes the
// caller the one that evaluates: f is then not nil and the caller must
// land it.
func (g *Gate) join(ctx context.Context, key string) (f *flight, e *memoEntry, inc *Decision) {
	g.mu.Lock()
	other := g.inflight[key]
	if other == nil {
		f = &flight{done: make(chan struct{})}
		g.inflight[key] = f
	}
	g.mu.Unlock()
	if other == nil {
		return f, nil, nil
	}
	select {
	case <-other.done:
		return nil, other.e, other.inc // both nil: it panicked, so this call tries itself
	case <-ctx.Done():
	}
	return nil, nil, nil
}

// land publishes the evaluation's answer (memoised by then) to those
// waiting.
func (g *Gate) land(key string, f *flight, e *memoEntry, d *Decision) {
	f.e = e
	// Shared unless it ran out of time: a waiter that asked later (or whose
	// caller did not cancel) may still have budget to finish.
	if e == nil && d != nil && d.Incomplete != "" && d.Incomplete != IncompleteBudget {
		c := *d
		c.Violations = slices.Clip(c.Violations)
		f.inc = &c
	}
	g.mu.Lock()
	if g.inflight[key] == f {
		delete(g.inflight, key)
	}
	g.mu.Unlock()
	close(f.done)
}

// Reuse answers from a decision made for the same reference and context
// less than FactsTTL ago, without waiting for anything: ok is false when
// there is none (or FactsTTL is off), and the caller evaluates. A reused
// answer is logged like any other.
func (g *Gate) Reuse(reference string, in Input) (d Decision, ok bool) {
	if g.o.FactsTTL <= 0 {
		return Decision{}, false
	}
	start, now := time.Now(), g.o.Now()
	e := g.memoised(memoKey(reference, in), start, now)
	if e == nil {
		return Decision{}, false
	}
	return g.again(context.Background(), e.d, in, e, start, now), true
}

// again gives an answer made by another evaluation (kept in e, or shared
// in flight) as a decision made now, and logs it.
func (g *Gate) again(ctx context.Context, d Decision, in Input, e *memoEntry, start, now time.Time) Decision {
	d.EvaluatedAt = now.UTC()
	d.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	g.log(context.WithoutCancel(ctx), d, in, e) // logged even if the budget ends now
	return d
}

// memoEntry is one evaluation, reused for the same reference and context
// until its facts are FactsTTL old: a webhook is asked about the same few
// images thousands of times a second, and the policy's answer can only
// change when the facts, the policy or the clock do. The clock moves
// waiver expiry and image age by at most the TTL (a few seconds).
type memoEntry struct {
	d        Decision
	at       time.Time // monotonic: when its facts were read
	policyAt time.Time // the policy clock when it was evaluated
}

// memoKey identifies a reference in a context. Every string is written
// after its length, so no choice of strings (a label value holding NUL or
// "=", which POST /api/v1/gate accepts) spells another context's key.
func memoKey(reference string, in Input) string {
	n := len(reference) + len(in.Environment) + len(in.Namespace) + len(in.Cluster) + 4*binary.MaxVarintLen32
	for k, v := range in.Labels {
		n += len(k) + len(v) + 2*binary.MaxVarintLen32
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range []string{reference, in.Environment, in.Namespace, in.Cluster} {
		keyField(&b, s)
	}
	if len(in.Labels) > 0 {
		// A namespace has a handful of labels: sorted in a stack buffer,
		// not a new slice per decision.
		var buf [16]string
		keys := buf[:0]
		for k := range in.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			keyField(&b, k)
			keyField(&b, in.Labels[k])
		}
	}
	return b.String()
}

// keyField writes s prefixed by its length.
func keyField(b *strings.Builder, s string) {
	if len(s) < 0x80 {
		b.WriteByte(byte(len(s))) // the uvarint of a short string: one byte
	} else {
		var l [binary.MaxVarintLen64]byte
		b.Write(binary.AppendUvarint(l[:0], uint64(len(s))))
	}
	b.WriteString(s)
}

func (g *Gate) memoised(key string, start, now time.Time) *memoEntry {
	g.mu.Lock()
	e := g.decided[key]
	g.mu.Unlock()
	if e == nil || start.Sub(e.at) >= g.o.FactsTTL {
		return nil
	}
	// A policy clock moved by a test (or a waiver's expiry crossed by more
	// than the TTL) makes a fresh evaluation.
	if age := now.Sub(e.policyAt); age < 0 || age >= g.o.FactsTTL {
		return nil
	}
	return e
}

func (g *Gate) memoise(key string, d Decision, at, now time.Time, epoch uint64) *memoEntry {
	// Reused decisions share these read-only slices; clipped, so an append
	// by a caller copies rather than writes into another's answer.
	d.Violations, d.Suppressed, d.ExpiredWaivers = slices.Clip(d.Violations), slices.Clip(d.Suppressed), slices.Clip(d.ExpiredWaivers)
	e := &memoEntry{d: d, at: at, policyAt: now}
	g.mu.Lock()
	if g.epoch == epoch {
		if len(g.decided) >= maxTagCache {
			clear(g.decided) // bounded: references come from outside
		}
		g.decided[key] = e
	}
	g.mu.Unlock()
	return e
}

// deployment copies the fields the policy scopes by (explicitly, so a field
// added to Input does not break the build).
func deployment(in Input) policy.Deployment {
	return policy.Deployment{Environment: in.Environment, Namespace: in.Namespace, Cluster: in.Cluster, Labels: in.Labels}
}

func incompleteMessage(inc *incomplete) string {
	switch inc.reason {
	case IncompleteBudget:
		return "the facts could not be gathered within the time budget: " + inc.err.Error()
	case IncompleteNotFound:
		return "the registry has no such image: " + inc.err.Error()
	case IncompleteUnreachable:
		return "the registry could not be reached: " + inc.err.Error()
	case IncompleteNoFeeds:
		return "no vulnerability feed has been imported: " + inc.err.Error()
	}
	return "the store could not be read: " + inc.err.Error()
}

func (g *Gate) log(ctx context.Context, d Decision, in Input, same *memoEntry) {
	if g.o.Log == nil {
		return
	}
	if b, ok := g.o.Log.(*BatchLog); ok {
		b.decide(d, in, g.o.Caller, same) // coalesced, encoded off the request path
		return
	}
	rec, err := record(d, in, g.o.Caller)
	if err == nil {
		_, err = g.o.Log.PutDecision(ctx, rec)
	}
	if err != nil {
		g.o.Logger.Error("decision log", "reference", d.Reference, "err", err)
	}
}

// classify maps a registry or context error to an Incomplete reason.
func classify(ctx context.Context, err error, notFound func(error) bool) *incomplete {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		// Retried until the budget ran out, but the cause is that nothing answers.
		return &incomplete{reason: IncompleteUnreachable, err: err}
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &incomplete{reason: IncompleteBudget, err: err}
	case notFound != nil && notFound(err):
		return &incomplete{reason: IncompleteNotFound, err: err}
	}
	return &incomplete{reason: IncompleteUnreachable, err: err}
}

// resolve returns the digest ref names now: its own digest when pinned, a
// cached resolution, the registry's answer, or (without a Source) the
// store's current tag.
func (g *Gate) resolve(ctx context.Context, ref imageref.Ref) (string, error) {
	if ref.Pinned() {
		return ref.Digest, nil
	}
	key := ref.Name() + ":" + ref.Tag
	if g.o.TagTTL > 0 {
		g.mu.Lock()
		e, ok := g.tag[key]
		g.mu.Unlock()
		if ok && g.o.Now().Sub(e.at) < g.o.TagTTL {
			return e.digest, nil
		}
	}
	var digest string
	if g.o.Source != nil {
		var err error
		if digest, err = g.o.Source.Resolve(ctx, ref); err != nil {
			return "", classify(ctx, err, sourceNotFound)
		}
	} else {
		tags, err := g.o.Store.CurrentTags(ctx, ref.Name())
		if err != nil {
			return "", err
		}
		var ok bool
		if digest, ok = tags[ref.Tag]; !ok {
			return "", &incomplete{reason: IncompleteNotFound, err: fmt.Errorf("%s: the store has no such tag and no registry is configured", ref.Familiar())}
		}
	}
	if g.o.TagTTL > 0 {
		g.mu.Lock()
		if len(g.tag) >= maxTagCache {
			clear(g.tag) // bounded: references come from outside
		}
		g.tag[key] = tagEntry{digest: digest, at: g.o.Now()}
		g.mu.Unlock()
	}
	return digest, nil
}

// NotFoundError lets a Source say the registry has no such image.
type NotFoundError struct{ Err error }

func (e NotFoundError) Error() string { return e.Err.Error() }
func (e NotFoundError) Unwrap() error { return e.Err }

func sourceNotFound(err error) bool {
	var nf NotFoundError
	return errors.As(err, &nf)
}
