package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/signature"
)

// check is one rule's verdict before waivers: the violation sentence (empty:
// the image passes) and, for the vulnerabilities rule, the findings that
// made it fail, so waivers can remove them one by one.
type check struct {
	message  string
	findings []*Finding // into Facts.Findings
}

// ---- signature ----

type signatureParams struct {
	Signers    []string       `yaml:"signers"`
	Identities []identityFile `yaml:"identities"`
	idents     []identity
}

type identityFile struct {
	Issuer        string `yaml:"issuer"`
	Subject       string `yaml:"subject"`
	SubjectRegexp string `yaml:"subject_regexp"`
}

type identity struct {
	issuer, subject string
	re              *regexp.Regexp
}

func compileSignature(n *yaml.Node, p *Policy) (*signatureParams, error) {
	sp := &signatureParams{}
	if err := decodeWith(n, sp); err != nil {
		return nil, err
	}
	if len(sp.Signers) > 0 && p.Trust == nil {
		return nil, fmt.Errorf("with.signers names signers but the policy has no trust_policy (or trust) to define them")
	}
	for _, s := range sp.Signers {
		if !slices.ContainsFunc(p.Trust.Signers, func(t signature.Signer) bool { return t.Name == s }) {
			var names []string
			for _, t := range p.Trust.Signers {
				names = append(names, t.Name)
			}
			return nil, fmt.Errorf("with.signers: %q is not a signer of the trust policy (it has %s)", s, strings.Join(names, ", "))
		}
	}
	for i, id := range sp.Identities {
		if id.Issuer == "" {
			return nil, fmt.Errorf("with.identities[%d]: issuer is required: the issuer is part of the identity", i)
		}
		if (id.Subject == "") == (id.SubjectRegexp == "") {
			return nil, fmt.Errorf("with.identities[%d]: give exactly one of subject and subject_regexp", i)
		}
		ci := identity{issuer: id.Issuer, subject: id.Subject}
		if id.SubjectRegexp != "" {
			// Anchored: a substring hit (another org's repository) is not a match.
			re, err := regexp.Compile(`^(?:` + id.SubjectRegexp + `)$`)
			if err != nil {
				return nil, fmt.Errorf("with.identities[%d].subject_regexp: %w", i, err)
			}
			ci.re = re
		}
		sp.idents = append(sp.idents, ci)
	}
	return sp, nil
}

func (id identity) matches(issuer, subject string) bool {
	if issuer != id.issuer {
		return false
	}
	if id.re != nil {
		return id.re.MatchString(subject)
	}
	return subject == id.subject
}

func (sp *signatureParams) check(f *Facts) check {
	s := f.Signature
	reasons := ""
	if len(s.Reasons) > 0 {
		reasons = ": " + strings.Join(s.Reasons, "; ")
	}
	switch s.Status {
	case "signed":
	case "unsigned":
		return check{message: "image " + short(f.Digest) + " is not signed" + expected(sp)}
	case "invalid":
		return check{message: "no valid signature covers " + short(f.Digest) + reasons}
	case "untrusted":
		return check{message: "signed by an identity the trust policy does not trust" + reasons + expected(sp)}
	case "notation":
		return check{message: "only a notation signature is attached, and notation signatures are not verified" + expected(sp)}
	case "":
		return check{message: "signature status is unknown (no trust policy was applied)" + expected(sp)}
	default:
		return check{message: fmt.Sprintf("signature status %q is not signed", s.Status)}
	}
	who := signedBy(s)
	if len(sp.Signers) > 0 && !slices.Contains(sp.Signers, s.Signer) {
		return check{message: "signed by " + who + ", expected " + strings.Join(sp.Signers, " or ")}
	}
	if len(sp.idents) > 0 && !slices.ContainsFunc(sp.idents, func(id identity) bool { return id.matches(s.Issuer, s.Subject) }) {
		var want []string
		for _, id := range sp.idents {
			subj := id.subject
			if id.re != nil {
				subj = "/" + id.re.String() + "/"
			}
			want = append(want, subj+" (issuer "+id.issuer+")")
		}
		return check{message: "signed by " + who + ", expected " + strings.Join(want, " or ")}
	}
	return check{}
}

func signedBy(s Signature) string {
	who := s.Signer
	if s.Subject != "" {
		if who != "" {
			who += " "
		}
		who += s.Subject + " (issuer " + s.Issuer + ")"
	}
	if who == "" {
		who = "an unnamed signer"
	}
	return who
}

func expected(sp *signatureParams) string {
	if len(sp.Signers) == 0 {
		return ""
	}
	return "; expected a signature by " + strings.Join(sp.Signers, " or ")
}

// ---- vulnerabilities ----

type vulnParams struct {
	Severity string  `yaml:"severity"` // minimum: critical, high, medium, low
	MinCVSS  float64 `yaml:"min_cvss"`
	KEV      bool    `yaml:"kev"`
	MinEPSS  float64 `yaml:"min_epss"`
	// FixAvailable counts only findings with a fixed version.
	FixAvailable bool `yaml:"fix_available"`
	// MinAge counts only findings disclosed (published, else first seen)
	// at least this long ago: "fix within 30 days".
	MinAge string `yaml:"min_age"`
	// AllowUnscanned lets an image without a usable SBOM pass this rule.
	// Default: it fails, since "no findings" would only mean "not looked".
	AllowUnscanned bool `yaml:"allow_unscanned"`

	minSev int
	minAge time.Duration
}

var severities = map[string]int{"unknown": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

func compileVuln(n *yaml.Node) (*vulnParams, error) {
	vp := &vulnParams{}
	if err := decodeWith(n, vp); err != nil {
		return nil, err
	}
	if vp.Severity != "" {
		s, ok := severities[vp.Severity]
		if !ok || s == 0 {
			return nil, fmt.Errorf("with.severity: %q is not critical, high, medium or low", vp.Severity)
		}
		vp.minSev = s
	}
	if vp.MinCVSS < 0 || vp.MinCVSS > 10 {
		return nil, fmt.Errorf("with.min_cvss: %v is outside 0–10", vp.MinCVSS)
	}
	if vp.MinEPSS < 0 || vp.MinEPSS > 1 {
		return nil, fmt.Errorf("with.min_epss: %v is outside 0–1 (EPSS is a probability)", vp.MinEPSS)
	}
	var err error
	if vp.minAge, err = parseDuration(vp.MinAge); err != nil {
		return nil, fmt.Errorf("with.min_age: %w", err)
	}
	if vp.minSev == 0 && vp.MinCVSS == 0 && !vp.KEV && vp.MinEPSS == 0 && !vp.FixAvailable && vp.minAge == 0 {
		return nil, fmt.Errorf("with: give at least one of severity, min_cvss, kev, min_epss, fix_available, min_age (a rule denying every finding is rarely meant)")
	}
	return vp, nil
}

// sevRank is severities[s] without the map lookup (the hot loop).
func sevRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

func (vp *vulnParams) matches(fd *Finding, now time.Time) bool {
	if !fd.Open() {
		return false
	}
	if vp.minSev > 0 && sevRank(fd.Severity) < vp.minSev {
		return false
	}
	if vp.MinCVSS > 0 && fd.CVSS < vp.MinCVSS {
		return false
	}
	if vp.KEV && !fd.KEV {
		return false
	}
	if vp.MinEPSS > 0 && fd.EPSS < vp.MinEPSS {
		return false
	}
	if vp.FixAvailable && len(fd.Fixed) == 0 {
		return false
	}
	if vp.minAge > 0 {
		since := fd.Published
		if since.IsZero() {
			since = fd.FirstSeen
		}
		if since.IsZero() || now.Sub(since) < vp.minAge {
			return false
		}
	}
	return true
}

func (vp *vulnParams) describe() string {
	var parts []string
	if vp.Severity != "" {
		parts = append(parts, vp.Severity)
	}
	if vp.KEV {
		parts = append(parts, "KEV")
	}
	if vp.MinCVSS > 0 {
		parts = append(parts, fmt.Sprintf("CVSS ≥ %.1f", vp.MinCVSS))
	}
	if vp.MinEPSS > 0 {
		parts = append(parts, fmt.Sprintf("EPSS ≥ %.2f", vp.MinEPSS))
	}
	if vp.FixAvailable {
		parts = append(parts, "fix available")
	}
	if vp.minAge > 0 {
		parts = append(parts, "disclosed "+vp.MinAge+" ago or more")
	}
	return strings.Join(parts, ", ")
}

func (vp *vulnParams) check(f *Facts, now time.Time) check {
	if !vp.AllowUnscanned {
		if m := unscanned(f); m != "" {
			return check{message: m + ", so its vulnerabilities are unknown"}
		}
	}
	var hits []*Finding
	for i := range f.Findings {
		if fd := &f.Findings[i]; vp.matches(fd, now) {
			hits = append(hits, fd)
		}
	}
	if len(hits) == 0 {
		return check{}
	}
	return check{message: vulnMessage(vp, hits), findings: hits}
}

func vulnMessage(vp *vulnParams, hits []*Finding) string {
	const show = 5
	var list []string
	for i, h := range hits {
		if i == show {
			list = append(list, fmt.Sprintf("and %d more", len(hits)-show))
			break
		}
		list = append(list, findingText(*h))
	}
	noun := "finding"
	if len(hits) > 1 {
		noun = "findings"
	}
	return fmt.Sprintf("%d open %s %s: %s", len(hits), vp.describe(), noun, strings.Join(list, "; "))
}

func findingText(h Finding) string {
	id := h.ID
	for _, a := range h.Aliases {
		if strings.HasPrefix(a, "CVE-") && !strings.HasPrefix(id, "CVE-") {
			id += " (" + a + ")"
			break
		}
	}
	s := id + " in " + h.Package
	if h.Version != "" {
		s += " " + h.Version
	}
	var tags []string
	tags = append(tags, h.Severity)
	if h.KEV {
		tags = append(tags, "known exploited")
	}
	if len(h.Fixed) > 0 {
		tags = append(tags, "fixed in "+strings.Join(h.Fixed, ", "))
	}
	return s + " [" + strings.Join(tags, ", ") + "]"
}

// unscanned says why an image has nothing to evaluate findings on.
func unscanned(f *Facts) string {
	switch {
	case !f.SBOM.Present:
		return "no SBOM: the image was never scanned"
	case f.SBOM.Packages == 0:
		return "the SBOM has 0 usable packages: 0 packages analysed"
	}
	return ""
}

// ---- sbom ----

type sbomParams struct {
	MinPackages int `yaml:"min_packages"`
}

func compileSBOM(n *yaml.Node) (*sbomParams, error) {
	sp := &sbomParams{}
	if err := decodeWith(n, sp); err != nil {
		return nil, err
	}
	if sp.MinPackages < 0 {
		return nil, fmt.Errorf("with.min_packages: %d is negative", sp.MinPackages)
	}
	if sp.MinPackages == 0 {
		sp.MinPackages = 1
	}
	return sp, nil
}

func (sp *sbomParams) check(f *Facts) check {
	if m := unscanned(f); m != "" {
		return check{message: m}
	}
	if f.SBOM.Packages < sp.MinPackages {
		return check{message: fmt.Sprintf("the SBOM has %d usable packages, fewer than the %d required", f.SBOM.Packages, sp.MinPackages)}
	}
	return check{}
}

// ---- base-images ----

type baseParams struct {
	Approved     []string `yaml:"approved"`
	DenyOutdated bool     `yaml:"deny_outdated"`
	// AllowUnknown lets an image whose base could not be attributed pass.
	AllowUnknown bool `yaml:"allow_unknown"`
	approved     []imagePattern
}

func compileBase(n *yaml.Node) (*baseParams, error) {
	bp := &baseParams{}
	if err := decodeWith(n, bp); err != nil {
		return nil, err
	}
	for _, a := range bp.Approved {
		ip, err := compilePattern(a)
		if err != nil {
			return nil, fmt.Errorf("with.approved: %w", err)
		}
		bp.approved = append(bp.approved, ip)
	}
	if len(bp.approved) == 0 && !bp.DenyOutdated {
		return nil, fmt.Errorf("with: give approved bases, deny_outdated, or both")
	}
	return bp, nil
}

func (bp *baseParams) check(f *Facts) check {
	if len(f.Base) == 0 || f.Base[0].Confidence == "unknown" {
		if bp.AllowUnknown {
			return check{}
		}
		return check{message: "the base image is unknown (not attributed), so it cannot be checked against the approved list"}
	}
	b := f.Base[0]
	if b.Method == "none" {
		return check{} // built from scratch: no base to approve
	}
	name := baseRef(b)
	switch {
	case len(bp.approved) == 0:
	case b.Confidence == "guess":
		// A guess (an annotated base the layers contradict, a base created
		// after the image) names what the image claims, not what it is
		// built on: it approves nothing.
		if !bp.AllowUnknown {
			return check{message: "the base image is only a guess (" + name + ", not verified), so it cannot be checked against the approved list"}
		}
	case !slices.ContainsFunc(bp.approved, func(ip imagePattern) bool { return ip.matchBase(b) }):
		return check{message: "base image " + name + " is not on the approved list (" + strings.Join(bp.Approved, ", ") + ")"}
	}
	if bp.DenyOutdated {
		for _, l := range f.Base {
			if l.Outdated {
				return check{message: "base image " + baseRef(l) + " is outdated: its tag has moved since the image was built; rebuild"}
			}
		}
	}
	return check{}
}

func baseRef(b BaseLink) string {
	s := b.Repository
	if b.Tag != "" {
		s += ":" + b.Tag
	}
	if b.Digest != "" {
		s += "@" + short(b.Digest)
	}
	return s
}

func (ip imagePattern) matchBase(b BaseLink) bool {
	r := Reference{Name: normaliseName(b.Repository), Tag: b.Tag, Digest: b.Digest}
	if ip.hasDigest && b.IndexDigest != "" {
		alt := r
		alt.Digest = b.IndexDigest
		if ip.matchRef(alt, nil) {
			return true
		}
	}
	var tags []string
	for _, t := range b.Tags {
		tags = append(tags, r.Name+":"+t)
	}
	return ip.matchRef(r, tags)
}

// ---- references ----

type refParams struct {
	// DenyTyposquats: look-alike registries, typosquatted names and
	// namespaces, impersonations, tags that are no release. Default true.
	DenyTyposquats *bool    `yaml:"deny_typosquats"`
	RequireDigest  bool     `yaml:"require_digest"`
	DenyLatest     bool     `yaml:"deny_latest"`
	Registries     []string `yaml:"allowed_registries"`
}

func compileRefs(n *yaml.Node) (*refParams, error) {
	rp := &refParams{}
	if err := decodeWith(n, rp); err != nil {
		return nil, err
	}
	return rp, nil
}

var squatKinds = []string{imageref.KindTyposquatName, imageref.KindTyposquatNamespace, imageref.KindImpersonation, imageref.KindLookalikeRegistry, imageref.KindUnknownTag}

// check: preflight leaves out what needs no protection from the registry
// (pins, :latest).
func (rp *refParams) check(f *Facts, found []imageref.Finding, preflight bool) check {
	var msgs []string
	for _, fd := range found {
		switch {
		case fd.Kind == imageref.KindMalformed:
			msgs = append(msgs, fd.Message)
		case slices.Contains(squatKinds, fd.Kind) && (rp.DenyTyposquats == nil || *rp.DenyTyposquats):
			m := fd.Message
			if fd.Suggestion != "" && !strings.Contains(m, fd.Suggestion) {
				m += " (did you mean " + fd.Suggestion + "?)"
			}
			msgs = append(msgs, m)
		case fd.Kind == imageref.KindLatest && rp.DenyLatest && !preflight:
			msgs = append(msgs, fd.Message)
		case fd.Kind == imageref.KindUnpinned && rp.RequireDigest && !preflight:
			msgs = append(msgs, fd.Message)
		}
	}
	if len(rp.Registries) > 0 && f.Reference.Registry != "" && !globAny(rp.Registries, f.Reference.Registry) {
		msgs = append(msgs, "registry "+f.Reference.Registry+" is not an allowed registry ("+strings.Join(rp.Registries, ", ")+")")
	}
	return check{message: strings.Join(msgs, "; ")}
}

// ---- provenance ----

type provParams struct {
	Builders []string `yaml:"builders"`
	Sources  []string `yaml:"source_repositories"`
}

func compileProv(n *yaml.Node) (*provParams, error) {
	pp := &provParams{}
	if err := decodeWith(n, pp); err != nil {
		return nil, err
	}
	return pp, nil
}

func (pp *provParams) check(f *Facts) check {
	if len(f.Provenance) == 0 {
		return check{message: "no verified SLSA provenance is attached"}
	}
	for _, pv := range f.Provenance {
		if (len(pp.Builders) == 0 || globAny(pp.Builders, pv.BuilderID)) && (len(pp.Sources) == 0 || globAny(pp.Sources, pv.SourceRepository)) {
			return check{}
		}
	}
	pv := f.Provenance[0]
	var want []string
	if len(pp.Builders) > 0 {
		want = append(want, "builder "+strings.Join(pp.Builders, " or "))
	}
	if len(pp.Sources) > 0 {
		want = append(want, "source "+strings.Join(pp.Sources, " or "))
	}
	return check{message: fmt.Sprintf("built by %s from %s, expected %s", orNone(pv.BuilderID), orNone(pv.SourceRepository), strings.Join(want, " and "))}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ---- age ----

type ageParams struct {
	Max string `yaml:"max"`
	max time.Duration
}

func compileAge(n *yaml.Node) (*ageParams, error) {
	ap := &ageParams{}
	if err := decodeWith(n, ap); err != nil {
		return nil, err
	}
	if ap.Max == "" {
		return nil, fmt.Errorf("with.max: required (such as 90d)")
	}
	var err error
	if ap.max, err = parseDuration(ap.Max); err != nil {
		return nil, fmt.Errorf("with.max: %w", err)
	}
	return ap, nil
}

func (ap *ageParams) check(f *Facts, now time.Time) check {
	if f.Created.IsZero() {
		return check{message: "the image's creation time is unknown, so its age cannot be checked"}
	}
	if age := now.Sub(f.Created); age > ap.max {
		return check{message: fmt.Sprintf("image was built %s (%d days ago), older than the maximum age of %s", f.Created.UTC().Format("2006-01-02"), int(age.Hours()/24), ap.Max)}
	}
	return check{}
}

func short(d string) string {
	if len(d) > 19 && strings.HasPrefix(d, "sha256:") {
		return d[:19]
	}
	return d
}
