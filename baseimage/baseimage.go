package baseimage

import (
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/store"
)

// Methods: how a link was found.
const (
	MethodAnnotation = "annotation"
	MethodProvenance = "provenance"
	MethodLayers     = "layers"
	MethodNone       = "none" // no base found
)

// Confidences.
const (
	Certain   = "certain"
	High      = "high"
	Ambiguous = "ambiguous"
	Guess     = "guess"
	Unknown   = "unknown"
)

// UnknownNote is the note of a chain with no base.
const UnknownNote = "unknown (squashed or from an uncatalogued base)"

// OCI annotation keys naming the base image.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// TagAt is one stretch of a tag's history: the tag pointed at the candidate
// from From to To (To zero: still does).
type TagAt struct {
	Tag      string    `json:"tag"`
	From, To time.Time `json:"-"`
}

// Candidate is one catalogued image that other images may be built on.
type Candidate struct {
	Digest      string    // manifest digest (per platform)
	IndexDigest string    // the multi-arch index it came from, if any
	Repository  string    // host/path it was seen in
	DiffIDs     []string  // bottom first
	Created     time.Time // from its config
	FirstSeen   time.Time // when the crawler first saw it here
	Tags        []TagAt   // tag history in Repository
	// Preferred marks a candidate crawled from a configured base repository
	// (the original), as opposed to an image of the inventory that happens
	// to be catalogued (a copy, a team's intermediate image).
	Preferred bool
}

func (c *Candidate) ref() string { return c.Repository + "@" + c.Digest }

// Catalog is the set of candidate bases, indexed by first diff ID and by
// digest (manifest and index).
type Catalog struct {
	byFirst  map[string][]*Candidate // bottom diff ID → candidates
	byTop    map[string][]*Candidate // top diff ID → candidates
	byDigest map[string][]*Candidate
	size     int
}

// NewCatalog builds a catalogue. Candidates without diff IDs are kept for
// digest lookups only.
func NewCatalog(cands []Candidate) *Catalog {
	c := &Catalog{byFirst: map[string][]*Candidate{}, byTop: map[string][]*Candidate{}, byDigest: map[string][]*Candidate{}, size: len(cands)}
	all := make([]Candidate, len(cands))
	copy(all, cands)
	for i := range all {
		p := &all[i]
		if len(p.DiffIDs) > 0 {
			c.byFirst[p.DiffIDs[0]] = append(c.byFirst[p.DiffIDs[0]], p)
			top := p.DiffIDs[len(p.DiffIDs)-1]
			c.byTop[top] = append(c.byTop[top], p)
		}
		c.byDigest[p.Digest] = append(c.byDigest[p.Digest], p)
		if p.IndexDigest != "" && p.IndexDigest != p.Digest {
			c.byDigest[p.IndexDigest] = append(c.byDigest[p.IndexDigest], p)
		}
	}
	return c
}

// Len is the number of candidates.
func (c *Catalog) Len() int { return c.size }

// Lookup returns the candidates with a manifest or index digest.
func (c *Catalog) Lookup(digest string) []*Candidate { return c.byDigest[digest] }

// Ref names a base image.
type Ref struct {
	Repository  string   `json:"repository,omitempty"`
	Digest      string   `json:"digest,omitempty"`
	IndexDigest string   `json:"index_digest,omitempty"`
	Tag         string   `json:"tag,omitempty"`  // the tag shown: at the time the image was built
	Tags        []string `json:"tags,omitempty"` // every tag it carried then
}

// String is repository:tag@digest, as much of it as is known.
func (r Ref) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Link is one step of a base chain.
type Link struct {
	Base         Ref      `json:"base"`
	Method       string   `json:"method"`
	Confidence   string   `json:"confidence"`
	SharedLayers int      `json:"shared_layers"`
	Identical    bool     `json:"identical,omitempty"` // the image has the same layers: a copy of Base
	Alternatives []string `json:"alternatives,omitempty"`
	Note         string   `json:"note,omitempty"`
}

// Material is one SLSA provenance material: a URI and its digest
// ("sha256:<hex>"; a bare hex is taken as sha256).
type Material struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
}

// subject is what is being attributed: the image, then each base in turn.
type subject struct {
	digest, repository string
	diffIDs            []string
	at                 time.Time
	annotations        map[string]string
}

// Attribute returns the base chain of an image: its base, that base's base,
// and so on. An image with no base found gets one link with Method "none",
// Confidence "unknown" and UnknownNote, so "no base" is an answer too.
func Attribute(img store.Image, materials []Material, cat *Catalog) []Link {
	if cat == nil {
		cat = NewCatalog(nil)
	}
	s := subject{digest: img.Digest, repository: img.Repository, diffIDs: img.DiffIDs, at: buildTime(img.Created, img.FirstSeen), annotations: img.Annotations}
	seen := map[string]bool{img.Digest: true}
	var chain []Link
	for depth := 0; depth < 64; depth++ {
		var l Link
		var next *Candidate
		if depth == 0 {
			l, next = first(s, materials, cat)
		} else {
			// A catalogued base is the original: its copies (same layers)
			// are not its base, only a proper prefix is.
			l, next = byLayers(s, cat, false)
		}
		if l.Method == MethodNone {
			if depth == 0 {
				chain = append(chain, l)
			}
			break
		}
		chain = append(chain, l)
		if next == nil || seen[next.Digest] {
			break
		}
		seen[next.Digest] = true
		s = subject{digest: next.Digest, repository: next.Repository, diffIDs: next.DiffIDs, at: buildTime(next.Created, next.FirstSeen)}
	}
	return chain
}

// buildTime is the config's creation time, unless it is missing or a
// reproducible-build placeholder (1970, SOURCE_DATE_EPOCH 0), then when the
// image was first seen.
func buildTime(created, firstSeen time.Time) time.Time {
	if created.IsZero() || created.Year() < 1990 {
		return firstSeen
	}
	return created
}

// first attributes the image itself: annotation, then provenance, then layers.
func first(s subject, materials []Material, cat *Catalog) (Link, *Candidate) {
	if l, c, ok := byAnnotation(s, cat); ok {
		return l, c
	}
	if l, c, ok := byProvenance(s, materials, cat); ok {
		return l, c
	}
	return byLayers(s, cat, true)
}

// isPrefix reports whether p is a prefix of full (possibly equal).
func isPrefix(p, full []string) bool {
	if len(p) == 0 || len(p) > len(full) {
		return false
	}
	for i := range p {
		if p[i] != full[i] {
			return false
		}
	}
	return true
}

// verified picks, among candidates (e.g. the platforms of one index), the
// one whose layers are a proper prefix of the subject's (or equal: a copy).
func verified(s subject, cands []*Candidate) *Candidate {
	var best *Candidate
	for _, c := range cands {
		if c.Digest == s.digest {
			continue // the image itself, wherever it was pushed
		}
		if isPrefix(c.DiffIDs, s.diffIDs) && (best == nil || len(c.DiffIDs) > len(best.DiffIDs)) {
			best = c
		}
	}
	return best
}

func byAnnotation(s subject, cat *Catalog) (Link, *Candidate, bool) {
	dg := normDigest(s.annotations[AnnotationBaseDigest])
	name := s.annotations[AnnotationBaseName]
	if dg == "" && name == "" {
		return Link{}, nil, false
	}
	repo, tag, nameDigest := splitRef(name)
	if dg == "" {
		dg = nameDigest
	}
	if dg == s.digest {
		return Link{}, nil, false // names the image itself: says nothing about its base
	}
	if dg == "" {
		// A name without a digest: the tag as it was when the image was built.
		if c := cat.byTagAt(repo, tag, s); c != nil {
			if l, n, ok := nearer(s, cat, c, "the annotation"); ok {
				return l, n, true
			}
			l := linkTo(c, s, MethodAnnotation, High)
			l.Base.Tag = tag
			l.Note = "base named by annotation without digest; resolved through tag history and verified by layers"
			return l, c, true
		}
		return Link{}, nil, false // fall through to provenance and layers
	}
	if cands := cat.Lookup(dg); len(cands) > 0 {
		if c := verified(s, cands); c != nil {
			if l, n, ok := nearer(s, cat, c, "the annotation"); ok {
				return l, n, true
			}
			l := linkTo(c, s, MethodAnnotation, Certain)
			if tag != "" && tag != l.Base.Tag {
				l.Note = "annotation names tag " + tag
				if contains(l.Base.Tags, tag) {
					l.Base.Tag = tag
					l.Note = ""
				}
			}
			return l, c, true
		}
		lay, _ := byLayers(s, cat, true)
		l := Link{Base: Ref{Repository: repo, Digest: dg, Tag: tag}, Method: MethodAnnotation, Confidence: Guess,
			Note: "annotated base's layers are not a prefix of the image's"}
		if lay.Method != MethodNone {
			l.Alternatives = append(l.Alternatives, lay.Base.String()+" (by layers)")
		}
		return l, nil, true
	}
	l := Link{Base: Ref{Repository: repo, Digest: dg, Tag: tag}, Method: MethodAnnotation, Confidence: High,
		Note: "declared by the builder; base not in the catalogue, not verified by layers"}
	if tag != "" {
		l.Base.Tags = []string{tag}
	}
	return l, nil, true
}

// nearer reports the layer match when the catalogue holds a base nearer
// than c, the one an annotation or provenance named: c's layers are a
// prefix of the image's, but a catalogued image shares more of them, so c
// is an ancestor further down (the chain reaches it), not the image's base
// — naming it must not make an intermediate base disappear.
func nearer(s subject, cat *Catalog, c *Candidate, by string) (Link, *Candidate, bool) {
	l, n := byLayers(s, cat, true)
	if l.Method == MethodNone || n == nil || l.SharedLayers <= len(c.DiffIDs) {
		return Link{}, nil, false
	}
	l.Note = appendNote(l.Note, by+" names "+c.ref()+", an ancestor beneath this base")
	return l, n, true
}

// imageMaterial reports whether a provenance material names a container image.
func imageMaterial(m Material) bool {
	u := strings.ToLower(m.URI)
	for _, p := range []string{"pkg:docker/", "pkg:oci/", "docker-image://", "oci://", "docker://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

func byProvenance(s subject, materials []Material, cat *Catalog) (Link, *Candidate, bool) {
	var imgs []Material
	var best *Candidate
	var bestM Material
	for _, m := range materials {
		dg := normDigest(m.Digest)
		if dg == "" || dg == s.digest {
			continue
		}
		cands := cat.Lookup(dg)
		if !imageMaterial(m) && len(cands) == 0 {
			continue
		}
		m.Digest = dg
		imgs = append(imgs, m)
		if c := verified(s, cands); c != nil && (best == nil || len(c.DiffIDs) > len(best.DiffIDs)) {
			best, bestM = c, m
		}
	}
	if best != nil {
		if l, n, ok := nearer(s, cat, best, "the provenance"); ok {
			return l, n, true
		}
		l := linkTo(best, s, MethodProvenance, High)
		for _, m := range imgs {
			if m.Digest != bestM.Digest {
				l.Note = appendNote(l.Note, "other image materials (build stages): "+m.URI)
			}
		}
		return l, best, true
	}
	switch len(imgs) {
	case 0:
		return Link{}, nil, false
	case 1:
		repo, tag := materialRef(imgs[0].URI)
		return Link{Base: Ref{Repository: repo, Digest: imgs[0].Digest, Tag: tag}, Method: MethodProvenance, Confidence: High,
			Note: "provenance material pinned by digest; base not in the catalogue, not verified by layers"}, nil, true
	}
	// Several unverifiable images: a multi-stage build; the layers may still tell.
	if l, c := byLayers(s, cat, true); l.Method != MethodNone {
		return l, c, true
	}
	repo, tag := materialRef(imgs[0].URI)
	l := Link{Base: Ref{Repository: repo, Digest: imgs[0].Digest, Tag: tag}, Method: MethodProvenance, Confidence: Ambiguous,
		Note: "several image materials (multi-stage build), none catalogued"}
	for _, m := range imgs[1:] {
		l.Alternatives = append(l.Alternatives, m.URI+"@"+m.Digest)
	}
	return l, nil, true
}

// materialRef turns pkg:docker/library/node@20?platform=… or
// docker-image://node:20 into repository and tag.
func materialRef(uri string) (repo, tag string) {
	u := uri
	for _, p := range []string{"pkg:docker/", "pkg:oci/", "docker-image://", "oci://", "docker://"} {
		if strings.HasPrefix(strings.ToLower(u), p) {
			u = u[len(p):]
			break
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if strings.HasPrefix(strings.ToLower(uri), "pkg:") {
		// purl: the version follows '@' and is a tag or a digest.
		if i := strings.LastIndex(u, "@"); i >= 0 {
			v := u[i+1:]
			u = u[:i]
			if !strings.HasPrefix(v, "sha256:") {
				tag = v
			}
		}
		return NormalizeRepository(u), tag
	}
	r, t, _ := splitRef(u)
	return r, t
}

// byLayers finds the longest proper prefix of the subject's diff IDs in the
// catalogue, or, when identical is set, first a catalogued image with the
// same layers (the subject is a copy).
func byLayers(s subject, cat *Catalog, identical bool) (Link, *Candidate) {
	none := Link{Method: MethodNone, Confidence: Unknown, Note: UnknownNote}
	if len(s.diffIDs) == 0 {
		none.Note = UnknownNote + ": no layers known"
		return none, nil
	}
	// Candidates are indexed by their top layer: a base of the subject
	// with k layers has the subject's k-th diff ID on top, so the longest
	// prefix is found by looking from the top layer down, whatever the
	// number of images sharing the bottom layer.
	at := func(k int) []*Candidate {
		var out []*Candidate
		for _, c := range cat.byTop[s.diffIDs[k-1]] {
			// The same digest in another repository is the same image
			// pushed again, not a base nor a copy of one.
			if len(c.DiffIDs) == k && c.Digest != s.digest && isPrefix(c.DiffIDs, s.diffIDs) {
				out = append(out, c)
			}
		}
		return out
	}
	var best, same []*Candidate
	if identical {
		same = at(len(s.diffIDs))
	}
	for k := len(s.diffIDs) - 1; k >= 1 && best == nil; k-- {
		best = at(k)
	}
	// A copy points at its original, never the other way: an identical
	// candidate the subject itself outranks (the subject is from a base
	// repository, or was seen first) is the subject's copy, not its base.
	// When neither is known to be first, the link is a tie.
	undecided := false
	if len(same) > 0 {
		self := cat.self(s.digest)
		kept := same[:0]
		for _, c := range same {
			if self != nil && before(self, c) {
				continue
			}
			if self != nil && !before(c, self) {
				undecided = true
			}
			kept = append(kept, c)
		}
		same = kept
	}
	identical = len(same) > 0
	if identical {
		best = same
	}
	if len(best) == 0 {
		if len(s.diffIDs) == 1 {
			none.Note = UnknownNote + ": one layer"
		}
		return none, nil
	}
	ranked, broken := rank(best)
	c := ranked[0]
	conf := High
	if !broken || undecided {
		conf = Ambiguous
	}
	l := linkTo(c, s, MethodLayers, conf)
	l.Identical = identical
	for _, o := range ranked[1:] {
		l.Alternatives = append(l.Alternatives, o.ref())
	}
	if identical {
		l.Note = appendNote(l.Note, "same layers as the catalogued "+c.ref()+": a re-push or copy, attributed to the catalogue entry")
	}
	if undecided {
		l.Note = appendNote(l.Note, "neither this image nor "+c.ref()+" is known to be the original")
	}
	if len(ranked) > 1 {
		if broken {
			l.Note = appendNote(l.Note, "same content also published as the alternatives; the original chosen by preference or first sighting")
		} else {
			l.Note = appendNote(l.Note, "tie: the same content under several names, none known to be the original")
		}
	}
	return l, c
}

// rank orders tied candidates: preferred (configured base repository)
// first, then first seen, then by name for determinism. broken reports
// whether the first one is distinguishable from the second.
func rank(cs []*Candidate) ([]*Candidate, bool) {
	out := append([]*Candidate(nil), cs...)
	// The same digest seen in the same repository twice is one candidate.
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	dedup := out[:0]
	for i, c := range out {
		if i > 0 && c.Digest == out[i-1].Digest && sameRepo(c.Repository, out[i-1].Repository) {
			continue
		}
		dedup = append(dedup, c)
	}
	out = dedup
	if len(out) < 2 {
		return out, true
	}
	a, b := out[0], out[1]
	if a.Preferred != b.Preferred {
		return out, true
	}
	if !a.FirstSeen.IsZero() && (b.FirstSeen.IsZero() || a.FirstSeen.Before(b.FirstSeen)) {
		return out, true
	}
	return out, false
}

// self is the best-ranked catalogue entry of a digest (nil: not catalogued).
func (c *Catalog) self(digest string) *Candidate {
	var best *Candidate
	for _, x := range c.byDigest[digest] {
		if x.Digest == digest && (best == nil || less(x, best)) {
			best = x
		}
	}
	return best
}

// before reports whether a is known to be the original of b: from a
// configured base repository when b is not, else seen first. Names do not
// decide.
func before(a, b *Candidate) bool {
	if a.Preferred != b.Preferred {
		return a.Preferred
	}
	return !a.FirstSeen.IsZero() && !b.FirstSeen.IsZero() && a.FirstSeen.Before(b.FirstSeen)
}

func less(a, b *Candidate) bool {
	if a.Preferred != b.Preferred {
		return a.Preferred
	}
	if !a.FirstSeen.Equal(b.FirstSeen) {
		if a.FirstSeen.IsZero() || b.FirstSeen.IsZero() {
			return !a.FirstSeen.IsZero()
		}
		return a.FirstSeen.Before(b.FirstSeen)
	}
	if a.Repository != b.Repository {
		return a.Repository < b.Repository
	}
	return a.Digest < b.Digest
}

// linkTo makes the link to a catalogued base, with the tag it carried when
// the subject was built.
func linkTo(c *Candidate, s subject, method, conf string) Link {
	tag, tags, note := TagAtTime(c.Tags, s.at)
	l := Link{
		Base:         Ref{Repository: c.Repository, Digest: c.Digest, IndexDigest: c.IndexDigest, Tag: tag, Tags: tags},
		Method:       method,
		Confidence:   conf,
		SharedLayers: len(c.DiffIDs),
		Note:         note,
	}
	bt := buildTime(c.Created, time.Time{})
	if !bt.IsZero() && !s.at.IsZero() && bt.After(s.at.Add(time.Minute)) && conf != Ambiguous {
		l.Confidence = Guess
		l.Note = appendNote(l.Note, "the base was created after the image")
	}
	return l
}

// TagAtTime returns the tag a base carried at t: among the stretches
// containing t, the most specific tag (20.11.1-bookworm over 20 over
// latest, see moreSpecific), with all of them; else the tags of the stretch
// that ended last before t; else (the base was first seen tagged after t)
// the earliest tags seen, with a note saying so.
func TagAtTime(history []TagAt, t time.Time) (tag string, tags []string, note string) {
	if len(history) == 0 {
		return "", nil, ""
	}
	if t.IsZero() {
		t = time.Now()
	}
	for _, h := range history {
		if !t.Before(h.From) && (h.To.IsZero() || !t.After(h.To)) {
			tags = appendUnique(tags, h.Tag)
		}
	}
	if len(tags) == 0 {
		var last time.Time
		for _, h := range history {
			if !h.To.IsZero() && h.To.Before(t) && !h.To.Before(last) {
				if h.To.After(last) {
					tags = nil
				}
				last = h.To
				tags = appendUnique(tags, h.Tag)
			}
		}
		if len(tags) > 0 {
			note = "tag as last seen before the image was built"
		}
	}
	if len(tags) == 0 {
		var earliest time.Time
		for _, h := range history {
			if earliest.IsZero() || h.From.Before(earliest) {
				earliest, tags = h.From, []string{h.Tag}
			} else if h.From.Equal(earliest) {
				tags = appendUnique(tags, h.Tag)
			}
		}
		note = "tag first observed after the image was built"
	}
	sort.Slice(tags, func(i, j int) bool { return moreSpecific(tags[i], tags[j]) })
	return tags[0], tags, note
}

// moreSpecific orders tags most specific first: "latest" names whatever is
// newest and comes last; otherwise more version parts win
// (20.11.1-bookworm over 20-bookworm over 20), a tag with a version number
// beats a bare codename, then the longer name, then by name. Plain length
// would put "latest" before "20".
func moreSpecific(a, b string) bool {
	if (a == "latest") != (b == "latest") {
		return b == "latest"
	}
	pa, pb := tagParts(a), tagParts(b)
	if pa != pb {
		return pa > pb
	}
	da, db := strings.ContainsAny(a, "0123456789"), strings.ContainsAny(b, "0123456789")
	if da != db {
		return da
	}
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a < b
}

func tagParts(t string) int {
	return len(strings.FieldsFunc(t, func(r rune) bool { return r == '.' || r == '-' || r == '_' }))
}

// byTagAt finds the candidate that repo:tag pointed at when the subject was
// built and whose layers are a prefix of the subject's.
func (c *Catalog) byTagAt(repo, tag string, s subject) *Candidate {
	if tag == "" {
		tag = "latest"
	}
	var cands []*Candidate
	for _, cand := range c.byFirst[firstOr(s.diffIDs)] {
		if !sameRepo(cand.Repository, repo) {
			continue
		}
		if _, tags, note := TagAtTime(cand.Tags, s.at); note == "" && contains(tags, tag) {
			cands = append(cands, cand)
		}
	}
	return verified(s, cands)
}

func firstOr(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

func appendUnique(xs []string, x string) []string {
	if contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func appendNote(note, more string) string {
	if note == "" {
		return more
	}
	return note + "; " + more
}

// normDigest returns sha256:<hex> for a digest given with or without its
// algorithm, "" for anything else.
func normDigest(d string) string {
	d = strings.TrimSpace(d)
	if d == "" {
		return ""
	}
	if !strings.Contains(d, ":") {
		d = "sha256:" + d
	}
	alg, hex, _ := strings.Cut(d, ":")
	if alg == "" || len(hex) < 32 {
		return ""
	}
	return strings.ToLower(d)
}

// splitRef splits host/path:tag@digest into a normalised repository, tag
// and digest.
func splitRef(ref string) (repo, tag, digest string) {
	ref = strings.TrimSpace(ref)
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], normDigest(ref[i+1:])
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return NormalizeRepository(ref), tag, digest
}

// NormalizeRepository applies Docker's defaults: a name without a registry
// host is on docker.io, and a one-part name there is under library/
// ("node" → "docker.io/library/node"); index.docker.io and
// registry-1.docker.io are docker.io. A name the reference grammar accepts
// is normalised by imageref, the one parser of references; one it refuses
// (stored names from annotations and provenance are outside data) gets the
// same defaults leniently, so it can still be compared.
func NormalizeRepository(repo string) string {
	repo = strings.TrimSpace(repo)
	if repo == "" {
		return ""
	}
	if ref, err := imageref.Parse(repo); err == nil && ref.Tag == "latest" && ref.ImplicitLatest {
		return ref.Name()
	}
	host, rest, ok := strings.Cut(repo, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		host, rest = imageref.DockerHub, repo
	}
	if imageref.IsDockerHubAlias(host) {
		host = imageref.DockerHub
	}
	if host == imageref.DockerHub && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host + "/" + strings.ToLower(rest)
}

func sameRepo(a, b string) bool {
	return a == b || NormalizeRepository(a) == NormalizeRepository(b)
}
