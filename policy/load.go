package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/safeguard-dev/safeguard/imageref"
	"github.com/safeguard-dev/safeguard/signature"
)

// SchemaVersion is the policy file format this package reads.
const SchemaVersion = 1

// Rule types.
const (
	TypeSignature       = "signature"
	TypeVulnerabilities = "vulnerabilities"
	TypeBaseImages      = "base-images"
	TypeReferences      = "references"
	TypeSBOM            = "sbom"
	TypeProvenance      = "provenance"
	TypeAge             = "age"
	TypeCEL             = "cel"
)

// Modes (the same strings as gate.ModeEnforce, …).
const (
	ModeEnforce = "enforce"
	ModeWarn    = "warn"
	ModeAudit   = "audit"
)

var ruleTypes = []string{TypeSignature, TypeVulnerabilities, TypeBaseImages, TypeReferences, TypeSBOM, TypeProvenance, TypeAge, TypeCEL}

// Policy is a loaded, validated policy: read-only after Load, safe for
// concurrent Evaluate calls.
type Policy struct {
	Name    string
	Rules   []*Rule
	Waivers []Waiver
	// Trust is the trust policy the signature rule names signers of; nil
	// when the policy has none.
	Trust *signature.Policy
	// OrgRegistries are the organisation's own registries: references into
	// them are trusted, and look-alikes of them are typosquats.
	OrgRegistries []string

	hash    string
	catalog *imageref.Catalog
	hasCEL  bool
	celUses celNeeds

	// refChecks caches reference findings per raw reference: the same few
	// references are asked again and again, and the checks compare against
	// the whole catalogue.
	refChecks sync.Map // string → []imageref.Finding
	refCount  atomic.Int64
}

// Hash identifies the policy's content (and its trust policy's): two
// decisions with the same hash were made under the same rules.
func (p *Policy) Hash() string { return p.hash }

// UsesFindings reports whether a rule reads vulnerability findings (a
// vulnerabilities rule, or a CEL expression naming findings): such a
// policy is meaningless over a store without advisories.
func (p *Policy) UsesFindings() bool {
	for _, r := range p.Rules {
		if r.vuln != nil || (r.cel != nil && r.cel.needs.findings) {
			return true
		}
	}
	return false
}

// UsesTags reports whether anything in the policy reads the other tags of
// a digest: an image pattern with a tag in a scope or waiver, or a CEL
// expression naming tags. The gate skips reading them otherwise.
func (p *Policy) UsesTags() bool {
	for _, r := range p.Rules {
		for _, ip := range r.Scope.images {
			if ip.hasTag {
				return true
			}
		}
		if r.cel != nil && r.cel.needs.tags {
			return true
		}
	}
	for _, w := range p.Waivers {
		for _, ip := range w.images {
			if ip.hasTag {
				return true
			}
		}
	}
	return false
}

// Catalog is the reference catalogue the references rule compares with:
// the default one, extended with the org registries and approved bases.
func (p *Policy) Catalog() *imageref.Catalog { return p.catalog }

// Rule is one rule of the policy.
type Rule struct {
	Name  string
	Type  string
	Mode  string
	Scope Scope

	sig  *signatureParams
	vuln *vulnParams
	base *baseParams
	refs *refParams
	sbom *sbomParams
	prov *provParams
	age  *ageParams
	cel  *celRule
}

// Scope limits where a rule applies; an empty list means everywhere.
type Scope struct {
	Environments []string
	Namespaces   []string
	Images       []string
	images       []imagePattern
}

// Applies reports whether the scope covers a deployment of an image.
func (s Scope) Applies(f *Facts, d Deployment) bool {
	if len(s.Environments) > 0 && !slices.Contains(s.Environments, d.Environment) {
		return false
	}
	if len(s.Namespaces) > 0 && !globAny(s.Namespaces, d.Namespace) {
		return false
	}
	if len(s.images) > 0 {
		for _, ip := range s.images {
			if ip.matchRef(f.Reference, f.Tags) {
				return true
			}
		}
		return false
	}
	return true
}

// File shapes, apart from the API types so KnownFields catches typos.
type policyFile struct {
	Version       int          `yaml:"version"`
	Name          string       `yaml:"name"`
	TrustPolicy   string       `yaml:"trust_policy"`
	Trust         yaml.Node    `yaml:"trust"` // a *yaml.Node is refused by KnownFields
	OrgRegistries []string     `yaml:"org_registries"`
	Rules         []ruleFile   `yaml:"rules"`
	Waivers       []waiverFile `yaml:"waivers"`
}

type ruleFile struct {
	Name  string    `yaml:"name"`
	Type  string    `yaml:"type"`
	Mode  string    `yaml:"mode"`
	Scope scopeFile `yaml:"scope"`
	With  yaml.Node `yaml:"with"`
	line  int
}

type scopeFile struct {
	Environments []string `yaml:"environments"`
	Namespaces   []string `yaml:"namespaces"`
	Images       []string `yaml:"images"`
}

// Load reads and validates a policy file. Paths in it (trust_policy) are
// relative to the file.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// Parse validates a policy document; baseDir resolves relative paths.
func Parse(data []byte, baseDir string) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, errors.New("empty policy document")
	}
	var pf policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		return nil, err
	}
	// A second document would be silently ignored: rules someone meant to
	// enforce, never evaluated.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document ('---'): a policy file holds exactly one policy")
	}
	rulesNode := mappingValue(root.Content[0], "rules")
	for i := range pf.Rules {
		if rulesNode != nil && i < len(rulesNode.Content) {
			pf.Rules[i].line = rulesNode.Content[i].Line
		}
	}
	if pf.Version != SchemaVersion {
		return nil, fmt.Errorf("version: %d is not a supported policy schema version (want version: %d)", pf.Version, SchemaVersion)
	}
	if pf.Name == "" {
		return nil, errors.New("name: required")
	}
	p := &Policy{Name: pf.Name, OrgRegistries: pf.OrgRegistries}
	h := sha256.New()
	h.Write(data)
	switch {
	case pf.TrustPolicy != "" && pf.Trust.Kind != 0:
		return nil, errors.New("trust_policy and trust: give one (a file, or the signers embedded), not both")
	case pf.TrustPolicy != "":
		tp := pf.TrustPolicy
		if !filepath.IsAbs(tp) {
			tp = filepath.Join(baseDir, tp)
		}
		t, err := signature.LoadPolicy(tp)
		if err != nil {
			return nil, fmt.Errorf("trust_policy: %w", err)
		}
		p.Trust = t
	case pf.Trust.Kind != 0:
		raw, err := yaml.Marshal(&pf.Trust)
		if err != nil {
			return nil, err
		}
		t, err := signature.ParsePolicy(raw, baseDir)
		if err != nil {
			return nil, fmt.Errorf("line %d: trust: %w", pf.Trust.Line, err)
		}
		p.Trust = t
	}
	if p.Trust != nil {
		h.Write([]byte(p.Trust.Hash()))
	}
	seen := map[string]int{}
	var approved []string
	for i, rf := range pf.Rules {
		r, err := compileRule(rf, p)
		if err != nil {
			name := rf.Name
			if name == "" {
				name = rf.Type
			}
			return nil, fmt.Errorf("line %d: rules[%d] (%s): %w", rf.line, i, name, err)
		}
		if prev, dup := seen[r.Name]; dup {
			return nil, fmt.Errorf("line %d: rules[%d]: name %q is already used by rules[%d]; give each rule its own name", rf.line, i, r.Name, prev)
		}
		seen[r.Name] = i
		if r.base != nil {
			for _, ip := range r.base.approved {
				if n := baseName(ip.norm); n != "" {
					approved = append(approved, n)
				}
			}
		}
		p.Rules = append(p.Rules, r)
	}
	if len(p.Rules) == 0 {
		return nil, errors.New("rules: a policy needs at least one rule")
	}
	for _, reg := range p.OrgRegistries {
		if reg == "" || strings.ContainsAny(reg, " *") {
			return nil, fmt.Errorf("org_registries: %q is not a registry host (or host/namespace)", reg)
		}
	}
	cat, err := imageref.Default().Extend(p.OrgRegistries, approved)
	if err != nil {
		return nil, fmt.Errorf("org_registries / approved bases: %w", err)
	}
	p.catalog = cat
	waiversNode := mappingValue(root.Content[0], "waivers")
	for i, wf := range pf.Waivers {
		line := 0
		if waiversNode != nil && i < len(waiversNode.Content) {
			line = waiversNode.Content[i].Line
		}
		w, err := compileWaiver(wf, seen)
		if err != nil {
			return nil, fmt.Errorf("line %d: waivers[%d]: %w", line, i, err)
		}
		p.Waivers = append(p.Waivers, w)
	}
	p.hash = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// baseName is the repository part of a normalised base pattern, for the
// catalogue of approved bases (globs cannot be catalogued).
func baseName(norm string) string {
	n := norm
	if i := strings.Index(n, "@"); i >= 0 {
		n = n[:i]
	}
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		n = n[:i]
	}
	if strings.Contains(n, "*") {
		return ""
	}
	return n
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeWith decodes a rule's parameters strictly (unknown fields are
// errors), with line numbers of the policy file.
func decodeWith(n *yaml.Node, into any) error {
	if n.Kind == 0 {
		return nil
	}
	raw, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
			k, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
			return "line " + strconv.Itoa(n.Line+k-1)
		})
		return fmt.Errorf("with: %s", strings.TrimPrefix(msg, "yaml: "))
	}
	return nil
}

func compileRule(rf ruleFile, p *Policy) (*Rule, error) {
	r := &Rule{Name: rf.Name, Type: rf.Type, Mode: rf.Mode}
	if !slices.Contains(ruleTypes, r.Type) {
		return nil, fmt.Errorf("type: %q is not a rule type (one of %s)", r.Type, strings.Join(ruleTypes, ", "))
	}
	if r.Name == "" {
		r.Name = r.Type
	}
	switch r.Mode {
	case "":
		r.Mode = ModeEnforce
	case ModeEnforce, ModeWarn, ModeAudit:
	default:
		return nil, fmt.Errorf("mode: %q is not enforce, warn or audit", r.Mode)
	}
	r.Scope = Scope{Environments: rf.Scope.Environments, Namespaces: rf.Scope.Namespaces, Images: rf.Scope.Images}
	for _, e := range rf.Scope.Environments {
		// Environments are compared exactly: "prod*" would match no
		// environment, and the rule would silently apply nowhere.
		if strings.ContainsAny(e, "*?[") || strings.TrimSpace(e) == "" {
			return nil, fmt.Errorf("scope.environments: %q: environments are exact names such as production (globs are for namespaces and images)", e)
		}
	}
	for _, s := range rf.Scope.Images {
		ip, err := compilePattern(s)
		if err != nil {
			return nil, fmt.Errorf("scope.images: %w", err)
		}
		r.Scope.images = append(r.Scope.images, ip)
	}
	var err error
	switch r.Type {
	case TypeSignature:
		r.sig, err = compileSignature(&rf.With, p)
	case TypeVulnerabilities:
		r.vuln, err = compileVuln(&rf.With)
	case TypeBaseImages:
		r.base, err = compileBase(&rf.With)
	case TypeReferences:
		r.refs, err = compileRefs(&rf.With)
	case TypeSBOM:
		r.sbom, err = compileSBOM(&rf.With)
	case TypeProvenance:
		r.prov, err = compileProv(&rf.With)
	case TypeAge:
		r.age, err = compileAge(&rf.With)
	case TypeCEL:
		r.cel, err = compileCEL(&rf.With)
		if err == nil {
			p.hasCEL, p.celUses = true, p.celUses.or(r.cel.needs)
		}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// parseDuration reads Go durations plus days ("90d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var days int
	rest := s
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 90d, 36h or 1d12h", s)
		}
		days, rest = n, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 90d, 36h or 1d12h", s)
		}
	}
	d += time.Duration(days) * 24 * time.Hour
	if d <= 0 {
		return 0, fmt.Errorf("%q: a duration must be positive", s)
	}
	return d, nil
}
