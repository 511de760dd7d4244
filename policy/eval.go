package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/imageref"
)

// Verdicts.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Violation is one rule the image fails, in words a person reads.
type Violation struct {
	Rule    string `json:"rule"`
	Type    string `json:"type"`
	Mode    string `json:"mode"`
	Message string `json:"message"`
}

// Suppressed is a violation (or one finding of one) a waiver removed.
type Suppressed struct {
	Rule    string    `json:"rule"`
	Finding string    `json:"finding,omitempty"` // vulnerability id, for finding waivers
	Package string    `json:"package,omitempty"`
	Message string    `json:"message"`
	Owner   string    `json:"owner"`
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires,omitzero"` // zero: permanent
}

// Result is the policy's answer for one image in one deployment.
type Result struct {
	Verdict    string       `json:"verdict"`
	Violations []Violation  `json:"violations"`
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	// ExpiredWaivers would have applied had they not expired.
	ExpiredWaivers []string `json:"expired_waivers,omitempty"`
}

// Evaluate applies every rule in scope to the facts. The verdict is deny
// when an enforce-mode rule fails after waivers; warn and audit violations
// are reported but allow. It never touches the network or the store.
func (p *Policy) Evaluate(f Facts, d Deployment, now time.Time) Result {
	return p.evaluate(f, d, now, "")
}

// EvaluateReference applies only the parts of the references rules that
// make contacting the registry unwise — malformed references, typosquats
// and look-alikes, registries outside the allowed list — before any
// registry is contacted: the gate refuses those without resolving them.
// Digest pins and :latest are left to Evaluate, so a decision on a tag
// still names the digest it points at (what to pin).
func (p *Policy) EvaluateReference(f Facts, d Deployment, now time.Time) Result {
	return p.evaluate(f, d, now, TypeReferences)
}

func (p *Policy) evaluate(f Facts, d Deployment, now time.Time, only string) Result {
	if f.Reference.Name == "" && f.Reference.Raw != "" {
		if r, err := ParseReference(f.Reference.Raw); err == nil {
			f.Reference = r
		}
	}
	res := Result{Verdict: Allow, Violations: []Violation{}}
	var vars map[string]any
	var refFindings []imageref.Finding
	refsDone := false
	expired := map[int]bool{}
	for _, r := range p.Rules {
		if (only != "" && r.Type != only) || !r.Scope.Applies(&f, d) {
			continue
		}
		var c check
		switch {
		case r.sig != nil:
			c = r.sig.check(&f)
		case r.vuln != nil:
			c = r.vuln.check(&f, now)
		case r.base != nil:
			c = r.base.check(&f)
		case r.refs != nil:
			if !refsDone {
				refFindings, refsDone = p.referenceFindings(f.Reference.Raw), true
			}
			c = r.refs.check(&f, refFindings, only != "")
		case r.sbom != nil:
			c = r.sbom.check(&f)
		case r.prov != nil:
			c = r.prov.check(&f)
		case r.age != nil:
			c = r.age.check(&f, now)
		case r.cel != nil:
			if vars == nil {
				vars = celVars(&f, d, now, p.celUses)
			}
			c = r.cel.check(vars)
		}
		if c.message == "" {
			continue
		}
		if c.findings != nil {
			c = p.waiveFindings(r, &f, c, now, &res, expired)
			if c.message == "" {
				continue
			}
		}
		if i, ok := p.ruleWaiver(r, &f, now, expired); ok {
			w := p.Waivers[i]
			res.Suppressed = append(res.Suppressed, Suppressed{Rule: r.Name, Message: c.message, Owner: w.Owner, Reason: w.Reason, Expires: w.Expires})
			continue
		}
		res.Violations = append(res.Violations, Violation{Rule: r.Name, Type: r.Type, Mode: r.Mode, Message: c.message})
		if r.Mode == ModeEnforce {
			res.Verdict = Deny
		}
	}
	for i := range p.Waivers {
		if expired[i] {
			res.ExpiredWaivers = append(res.ExpiredWaivers, "expired "+p.Waivers[i].Label())
		}
	}
	return res
}

// waiveFindings removes waived findings from a vulnerabilities check.
func (p *Policy) waiveFindings(r *Rule, f *Facts, c check, now time.Time, res *Result, expired map[int]bool) check {
	if len(p.Waivers) == 0 {
		return c
	}
	var left []*Finding
	for _, fd := range c.findings {
		waived := false
		for i, w := range p.Waivers {
			if !w.coversFinding(*fd) || !w.coversImage(f) {
				continue
			}
			if w.Expired(now) {
				expired[i] = true
				continue
			}
			res.Suppressed = append(res.Suppressed, Suppressed{Rule: r.Name, Finding: fd.ID, Package: fd.Package, Message: findingText(*fd),
				Owner: w.Owner, Reason: w.Reason, Expires: w.Expires})
			waived = true
			break
		}
		if !waived {
			left = append(left, fd)
		}
	}
	if len(left) == 0 {
		return check{}
	}
	if len(left) == len(c.findings) {
		return c
	}
	return check{message: vulnMessage(r.vuln, left), findings: left}
}

func (p *Policy) ruleWaiver(r *Rule, f *Facts, now time.Time, expired map[int]bool) (int, bool) {
	for i, w := range p.Waivers {
		if w.Rule != r.Name || !w.coversImage(f) {
			continue
		}
		if w.Expired(now) {
			expired[i] = true
			continue
		}
		return i, true
	}
	return 0, false
}

// maxRefCache bounds the reference cache: references come from outside
// (admission requests, API calls) and must not grow memory without limit.
const maxRefCache = 4096

func (p *Policy) referenceFindings(raw string) []imageref.Finding {
	if v, ok := p.refChecks.Load(raw); ok {
		return v.([]imageref.Finding)
	}
	_, found := imageref.CheckString(raw, p.catalog, nil)
	if p.refCount.Load() < maxRefCache {
		if _, loaded := p.refChecks.LoadOrStore(raw, found); !loaded {
			p.refCount.Add(1)
		}
	}
	return found
}

// ReferenceFindings returns the imageref findings for raw under this
// policy's catalogue (org registries and approved bases included).
func (p *Policy) ReferenceFindings(raw string) []imageref.Finding {
	return slices.Clone(p.referenceFindings(raw))
}

// Rule returns the rule with name, or nil.
func (p *Policy) Rule(name string) *Rule {
	for _, r := range p.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ViolatedRules lists the names of the violated rules, sorted.
func (r Result) ViolatedRules() []string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Rule)
	}
	slices.Sort(out)
	return out
}

// String is the result in one line, for logs and test failures.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Verdict)
	for _, v := range r.Violations {
		b.WriteString("; " + v.Rule + "[" + v.Mode + "]: " + v.Message)
	}
	return b.String()
}
