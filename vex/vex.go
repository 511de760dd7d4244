package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
)

// Statuses of a statement (the OpenVEX names; CycloneDX states map onto them).
const (
	NotAffected        = "not_affected"
	Affected           = "affected"
	Fixed              = "fixed"
	UnderInvestigation = "under_investigation"
)

// Formats a document can be in.
const (
	FormatOpenVEX   = "openvex"
	FormatCycloneDX = "cyclonedx"
)

// ErrUnsupported is returned for documents that are not OpenVEX or
// CycloneDX VEX.
var ErrUnsupported = errors.New("not an OpenVEX or CycloneDX VEX document")

// Statement says what one vulnerability means for one package.
type Statement struct {
	Vulnerability string   `json:"vulnerability"`
	Aliases       []string `json:"aliases,omitempty"`
	// PURL is the package as the document names it; ProductKey is its
	// identity for matching (ProductKey).
	PURL       string `json:"purl"`
	ProductKey string `json:"product_key"`
	// ImageDigest scopes the statement to one image when the document
	// names the package as a subcomponent of an image; empty is any image.
	ImageDigest   string    `json:"image_digest,omitempty"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	At            time.Time `json:"at"` // zero when the document gives no time
}

// Document is a decoded VEX document.
type Document struct {
	Format     string
	Statements []Statement
	// Skipped counts statements that name no package Safeguard can match
	// (a product without a purl, a whole image without subcomponents).
	Skipped int
}

// Decode decodes an OpenVEX or CycloneDX VEX document; name is used in
// errors.
func Decode(name string, b []byte) (*Document, error) {
	var probe struct {
		Context    json.RawMessage `json:"@context"`
		Statements json.RawMessage `json:"statements"`
		BOMFormat  string          `json:"bomFormat"`
		Vulns      json.RawMessage `json:"vulnerabilities"`
		Document   *struct {
			CSAFVersion string `json:"csaf_version"`
		} `json:"document"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("vex %s: not JSON: %w", name, err)
	}
	var d *Document
	var err error
	switch {
	case probe.Document != nil && probe.Document.CSAFVersion != "":
		err = fmt.Errorf("CSAF documents are not supported (%w): import the statements as OpenVEX or CycloneDX VEX", ErrUnsupported)
	case probe.Statements != nil:
		d, err = decodeOpenVEX(b)
	case probe.BOMFormat == "CycloneDX" && probe.Vulns == nil:
		err = errors.New("a CycloneDX BOM without vulnerabilities[] is an SBOM, not VEX (safeguard sbom ingest reads SBOMs)")
	case probe.BOMFormat == "CycloneDX" || probe.Vulns != nil:
		d, err = decodeCycloneDX(b)
	default:
		err = ErrUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("vex %s: %w", name, err)
	}
	d.Statements = dedupe(d.Statements)
	return d, nil
}

// dedupe drops repeated statements: a product listed per architecture
// (git@2.38.1-r0?arch=x86_64 and ?arch=ppc64le) is one package key.
func dedupe(in []Statement) []Statement {
	type key struct {
		vuln, product, digest, status string
		at                            time.Time
	}
	seen := map[key]bool{}
	out := in[:0]
	for _, s := range in {
		k := key{s.Vulnerability, s.ProductKey, s.ImageDigest, s.Status, s.At}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// ProductKey is the identity a statement and a finding are matched on:
// the purl's type, namespace, name and version, without qualifiers or
// subpath (pkg:maven/g/a@1?type=jar is pkg:maven/g/a@1).
func ProductKey(purl string) (string, error) {
	p, err := packageurl.FromString(purl)
	if err != nil {
		return "", err
	}
	if p.Version == "" {
		return "", fmt.Errorf("purl %q has no version", purl)
	}
	p.Qualifiers, p.Subpath = nil, ""
	return p.ToString(), nil
}

// imageDigest returns the digest an image product names: pkg:oci/x@sha256:…
// or a reference repo@sha256:…; ok is false when id is not an image.
func imageDigest(id string) (string, bool) {
	if strings.HasPrefix(id, "pkg:oci/") {
		p, err := packageurl.FromString(id)
		if err != nil || p.Version == "" {
			return "", true
		}
		v, err := url.PathUnescape(p.Version)
		if err != nil {
			v = p.Version
		}
		return v, true
	}
	if !strings.HasPrefix(id, "pkg:") && !strings.Contains(id, "://") {
		if i := strings.LastIndex(id, "@sha256:"); i > 0 {
			return id[i+1:], true
		}
	}
	return "", false
}

// One JSON value that may be a string or an object with an @id (older
// OpenVEX wrote products and vulnerabilities as strings).
type ident struct {
	ID          string   `json:"@id"`
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases"`
	Identifiers struct {
		PURL string `json:"purl"`
	} `json:"identifiers"`
	Subcomponents []ident `json:"subcomponents"`
}

func (i *ident) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &i.ID)
	}
	type plain ident
	return json.Unmarshal(b, (*plain)(i))
}

// purl is the package URL an OpenVEX product or subcomponent names.
func (i ident) purl() string {
	if strings.HasPrefix(i.ID, "pkg:") {
		return i.ID
	}
	return i.Identifiers.PURL
}

func decodeOpenVEX(b []byte) (*Document, error) {
	var doc struct {
		Timestamp   string `json:"timestamp"`
		LastUpdated string `json:"last_updated"`
		Statements  []struct {
			Vulnerability ident   `json:"vulnerability"`
			Products      []ident `json:"products"`
			Status        string  `json:"status"`
			Justification string  `json:"justification"`
			Timestamp     string  `json:"timestamp"`
			LastUpdated   string  `json:"last_updated"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("OpenVEX: %w", err)
	}
	docAt, err := firstTime(doc.LastUpdated, doc.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("OpenVEX: %w", err)
	}
	d := &Document{Format: FormatOpenVEX}
	for n, s := range doc.Statements {
		where := fmt.Sprintf("OpenVEX statement %d", n+1)
		vuln := s.Vulnerability.Name
		if vuln == "" {
			vuln = s.Vulnerability.ID
		}
		if vuln == "" {
			return nil, fmt.Errorf("%s: vulnerability has no name", where)
		}
		switch s.Status {
		case NotAffected, Affected, Fixed, UnderInvestigation:
		default:
			return nil, fmt.Errorf("%s (%s): status %q is not one of not_affected, affected, fixed, under_investigation", where, vuln, s.Status)
		}
		at, err := firstTime(s.LastUpdated, s.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, vuln, err)
		}
		if at.IsZero() {
			at = docAt
		}
		if len(s.Products) == 0 {
			return nil, fmt.Errorf("%s (%s): no products", where, vuln)
		}
		base := Statement{Vulnerability: vuln, Aliases: aliases(vuln, s.Vulnerability), Status: s.Status, Justification: s.Justification, At: at}
		for _, p := range s.Products {
			digest, image := imageDigest(p.ID)
			if image && digest == "" {
				// An image without a digest (any version of it) cannot be
				// told apart from another image holding the same package.
				d.Skipped++
				continue
			}
			var pkgs []string
			for _, c := range p.Subcomponents {
				pkgs = append(pkgs, c.purl())
			}
			if len(p.Subcomponents) == 0 && !image {
				pkgs = append(pkgs, p.purl())
			}
			if len(pkgs) == 0 {
				d.Skipped++ // a whole image, or no package named
			}
			for _, purl := range pkgs {
				if purl == "" {
					d.Skipped++
					continue
				}
				key, err := ProductKey(purl)
				if err != nil {
					return nil, fmt.Errorf("%s (%s): product %q: %w", where, vuln, purl, err)
				}
				st := base
				st.PURL, st.ProductKey, st.ImageDigest = purl, key, digest
				d.Statements = append(d.Statements, st)
			}
		}
	}
	return d, nil
}

func aliases(vuln string, v ident) []string {
	var out []string
	for _, a := range append([]string{v.ID, v.Name}, v.Aliases...) {
		if a != "" && a != vuln && !strings.Contains(a, "://") && !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstTime(values ...string) (time.Time, error) {
	for _, v := range values {
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339", v)
		}
		return t, nil
	}
	return time.Time{}, nil
}

type cdxComponent struct {
	BOMRef     string         `json:"bom-ref"`
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

func collectRefs(cs []cdxComponent, out map[string]string) {
	for _, c := range cs {
		if c.BOMRef != "" && c.PURL != "" {
			out[c.BOMRef] = c.PURL
		}
		collectRefs(c.Components, out)
	}
}

// cdxStatus maps a CycloneDX analysis state to a statement status.
var cdxStatus = map[string]string{
	"not_affected":           NotAffected,
	"false_positive":         NotAffected,
	"exploitable":            Affected,
	"in_triage":              UnderInvestigation,
	"resolved":               Fixed,
	"resolved_with_pedigree": Fixed,
}

func decodeCycloneDX(b []byte) (*Document, error) {
	var doc struct {
		Metadata struct {
			Timestamp string        `json:"timestamp"`
			Component *cdxComponent `json:"component"`
		} `json:"metadata"`
		Components      []cdxComponent `json:"components"`
		Vulnerabilities []struct {
			ID         string `json:"id"`
			References []struct {
				ID string `json:"id"`
			} `json:"references"`
			Updated   string `json:"updated"`
			Published string `json:"published"`
			Analysis  *struct {
				State         string `json:"state"`
				Justification string `json:"justification"`
				FirstIssued   string `json:"firstIssued"`
				LastUpdated   string `json:"lastUpdated"`
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("CycloneDX: %w", err)
	}
	refs := map[string]string{}
	if doc.Metadata.Component != nil {
		collectRefs([]cdxComponent{*doc.Metadata.Component}, refs)
	}
	collectRefs(doc.Components, refs)
	docAt, err := firstTime(doc.Metadata.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("CycloneDX metadata: %w", err)
	}
	d := &Document{Format: FormatCycloneDX}
	for n, v := range doc.Vulnerabilities {
		where := fmt.Sprintf("CycloneDX vulnerability %d", n+1)
		if v.ID == "" {
			return nil, fmt.Errorf("%s: no id", where)
		}
		if v.Analysis == nil || v.Analysis.State == "" {
			d.Skipped++ // a finding without an analysis is not a VEX statement
			continue
		}
		status, ok := cdxStatus[v.Analysis.State]
		if !ok {
			return nil, fmt.Errorf("%s (%s): analysis.state %q is not a CycloneDX impact analysis state", where, v.ID, v.Analysis.State)
		}
		at, err := firstTime(v.Analysis.LastUpdated, v.Updated, v.Analysis.FirstIssued, v.Published)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, v.ID, err)
		}
		if at.IsZero() {
			at = docAt
		}
		var al []string
		for _, r := range v.References {
			if r.ID != "" && r.ID != v.ID && !contains(al, r.ID) {
				al = append(al, r.ID)
			}
		}
		for _, a := range v.Affects {
			ref := a.Ref
			// A BOM-Link (urn:cdx:serial/version#bom-ref) names a component
			// of another BOM by its bom-ref.
			if strings.HasPrefix(ref, "urn:") {
				if i := strings.LastIndex(ref, "#"); i >= 0 {
					if r, err := url.PathUnescape(ref[i+1:]); err == nil {
						ref = r
					} else {
						ref = ref[i+1:]
					}
				}
			}
			purl := refs[ref]
			if purl == "" && strings.HasPrefix(ref, "pkg:") {
				purl = ref
			}
			if purl == "" {
				d.Skipped++
				continue
			}
			key, err := ProductKey(purl)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): affects %q: %w", where, v.ID, purl, err)
			}
			d.Statements = append(d.Statements, Statement{Vulnerability: v.ID, Aliases: al, PURL: purl, ProductKey: key,
				Status: status, Justification: v.Analysis.Justification, At: at})
		}
	}
	return d, nil
}
