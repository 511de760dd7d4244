package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"gopkg.in/yaml.v3"
)

// A CEL rule is an expression over the fact model that must be true for the
// image to pass. It sees three variables: image (Facts, with the JSON field
// names), context (Deployment) and now (a timestamp). Expressions compile
// when the policy loads; a bad one fails the load.
type celRule struct {
	Expression string `yaml:"expression"`
	Message    string `yaml:"message"`
	prg        cel.Program
	needs      celNeeds
}

// celCostLimit bounds one evaluation of an expression, in CEL's cost units
// (about one per operation; the limit Kubernetes puts on one validation
// expression). Nested comprehensions over a few lists reach billions of
// steps; an expression that runs out fails closed like any other error.
const celCostLimit = 1_000_000

func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("image", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("context", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
	)
}

func compileCEL(n *yaml.Node) (*celRule, error) {
	cr := &celRule{}
	if err := decodeWith(n, cr); err != nil {
		return nil, err
	}
	if cr.Expression == "" {
		return nil, fmt.Errorf("with.expression: required")
	}
	if cr.Message == "" {
		return nil, fmt.Errorf("with.message: required (the sentence shown when the expression is false)")
	}
	env, err := newCELEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(cr.Expression)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("with.expression: %v", iss.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("with.expression: evaluates to %s, want bool (true: the image passes)", t)
	}
	if err := checkCELFields(ast); err != nil {
		return nil, fmt.Errorf("with.expression: %w", err)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, fmt.Errorf("with.expression: %w", err)
	}
	cr.prg, cr.needs = prg, needsOf(cr.Expression)
	return cr, nil
}

func (cr *celRule) check(vars map[string]any) check {
	out, _, err := cr.prg.Eval(vars)
	if err != nil {
		// A rule that cannot be evaluated (a missing key) fails closed.
		return check{message: cr.Message + " (expression error: " + err.Error() + ")"}
	}
	b, ok := out.Value().(bool)
	if !ok {
		return check{message: cr.Message + fmt.Sprintf(" (expression gave %v, not a bool)", out.Value())}
	}
	if !b {
		return check{message: cr.Message}
	}
	return check{}
}

// celFields are the keys of the maps CEL sees as image and context (see
// celVars). The variables are maps of dyn, so the type checker cannot catch
// a misspelt key; a misspelt key fails closed at run time, except under
// has(), where it is silently false: !has(image.lables) passes every image.
var celFields = map[string][]string{
	"image": {"digest", "index_digest", "reference", "tags", "signature", "findings", "sbom", "base", "base_known",
		"provenance", "labels", "created"},
	"context": {"environment", "namespace", "cluster", "labels"},
	// The fixed-shape objects inside image.
	"image.reference": {"raw", "registry", "repository", "name", "tag", "digest", "pinned", "implicit_latest"},
	"image.signature": {"status", "signer", "issuer", "subject", "key_id", "reasons"},
	"image.sbom":      {"present", "count", "packages"},
}

// celPath names image, context, or image.reference (…signature, …sbom).
func celPath(e celast.Expr) string {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent()
	case celast.SelectKind:
		if op := e.AsSelect().Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "image" {
			return "image." + e.AsSelect().FieldName()
		}
	}
	return ""
}

// checkCELFields refuses image.x, has(image.x) and image["x"] for a key x
// the fact model does not have.
func checkCELFields(a *cel.Ast) error {
	var bad error
	celast.PostOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if bad != nil {
			return
		}
		var operand celast.Expr
		var field string
		switch e.Kind() {
		case celast.SelectKind:
			operand, field = e.AsSelect().Operand(), e.AsSelect().FieldName()
		case celast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != "_[_]" || len(c.Args()) != 2 || c.Args()[1].Kind() != celast.LiteralKind {
				return
			}
			str, ok := c.Args()[1].AsLiteral().(types.String)
			if !ok {
				return
			}
			operand, field = c.Args()[0], string(str)
		default:
			return
		}
		path := celPath(operand)
		keys, ok := celFields[path]
		if !ok || slices.Contains(keys, field) {
			return
		}
		bad = fmt.Errorf("%s has no field %q (it has %s)", path, field, strings.Join(keys, ", "))
	}))
	return bad
}

// celVars builds the activation: the fact model as CEL maps and lists.
// celNeeds says which costly parts of the fact model the policy's
// expressions can reference. Building CEL maps for 250 findings costs far
// more than evaluating a rule, so a part no expression names is left out;
// the test is a plain word match on the source, which can only include
// too much, never too little.
type celNeeds struct{ findings, base, provenance, tags bool }

func needsOf(expr string) celNeeds {
	return celNeeds{findings: strings.Contains(expr, "findings"), base: strings.Contains(expr, "base"),
		provenance: strings.Contains(expr, "provenance"), tags: strings.Contains(expr, "tags")}
}

func (n celNeeds) or(m celNeeds) celNeeds {
	return celNeeds{n.findings || m.findings, n.base || m.base, n.provenance || m.provenance, n.tags || m.tags}
}

func celVars(f *Facts, d Deployment, now time.Time, need celNeeds) map[string]any {
	findings := make([]any, 0, len(f.Findings))
	for _, fd := range f.Findings {
		if !need.findings {
			break
		}
		if !fd.Open() {
			continue
		}
		m := map[string]any{"id": fd.ID, "aliases": strs(fd.Aliases), "package": fd.Package, "version": fd.Version, "purl": fd.PURL,
			"severity": fd.Severity, "cvss": fd.CVSS, "kev": fd.KEV, "epss": fd.EPSS, "fixed": strs(fd.Fixed),
			"fix_available": len(fd.Fixed) > 0, "first_seen": fd.FirstSeen, "published": fd.Published, "state": "open"}
		if fd.InBase != nil {
			m["in_base"] = *fd.InBase
		}
		findings = append(findings, m)
	}
	base := make([]any, 0, len(f.Base))
	for _, b := range f.Base {
		if !need.base {
			break
		}
		base = append(base, map[string]any{"repository": b.Repository, "tag": b.Tag, "tags": strs(b.Tags), "digest": b.Digest,
			"method": b.Method, "confidence": b.Confidence, "outdated": b.Outdated})
	}
	prov := make([]any, 0, len(f.Provenance))
	for _, p := range f.Provenance {
		if !need.provenance {
			break
		}
		prov = append(prov, map[string]any{"builder_id": p.BuilderID, "build_type": p.BuildType, "source_repository": p.SourceRepository, "source_commit": p.SourceCommit})
	}
	r := f.Reference
	image := map[string]any{
		"digest": f.Digest, "index_digest": f.IndexDigest,
		"reference": map[string]any{"raw": r.Raw, "registry": r.Registry, "repository": r.Repository, "name": r.Name, "tag": r.Tag,
			"digest": r.Digest, "pinned": r.Pinned, "implicit_latest": r.ImplicitLatest},
		"tags": strs(f.Tags),
		"signature": map[string]any{"status": f.Signature.Status, "signer": f.Signature.Signer, "issuer": f.Signature.Issuer,
			"subject": f.Signature.Subject, "key_id": f.Signature.KeyID, "reasons": strs(f.Signature.Reasons)},
		"findings":   findings,
		"sbom":       map[string]any{"present": f.SBOM.Present, "count": int64(f.SBOM.Count), "packages": int64(f.SBOM.Packages)},
		"base":       base,
		"base_known": len(f.Base) > 0,
		"provenance": prov,
		"labels":     strMap(f.Labels),
		"created":    f.Created,
	}
	ctx := map[string]any{"environment": d.Environment, "namespace": d.Namespace, "cluster": d.Cluster, "labels": strMap(d.Labels)}
	return map[string]any{"image": image, "context": ctx, "now": now}
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func strMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
