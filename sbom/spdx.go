package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/tagvalue"
)

// spdxPackage is the tools-golang SPDX 2.3 package type without its
// UnmarshalJSON method. That method decodes every package twice (and the
// Document's decodes the whole file twice more) to recover hasFiles and the
// filesAnalyzed default, neither of which identity needs; skipping it makes
// a 1,500-package Red Hat SPDX decode about four times faster. The field
// types keep their own decoders (SPDXRef- identifiers, supplier strings).
// SPDX 2.1 and 2.2 JSON use the same field names, so one type serves all
// three.
type spdxPackage struct {
	libPackage
	// Shadows the library's externalRefs, whose UnmarshalJSON re-decodes
	// every reference (a quarter of the decoding time); the category is
	// normalised in isPURLRef instead.
	ExternalRefs []spdxExternalRef `json:"externalRefs"`
}

// libPackage drops v2_3.Package's methods so that the embedding above
// decodes field by field.
type libPackage v2_3.Package

type spdxExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

// spdxMinimal is what is read from a package the library types reject (a
// supplier without "Organization:", an SPDXID without "SPDXRef-"): enough to
// keep its identity.
type spdxMinimal struct {
	SPDXID   string            `json:"SPDXID"`
	Name     string            `json:"name"`
	Version  string            `json:"versionInfo"`
	Purpose  string            `json:"primaryPackagePurpose"`
	Declared string            `json:"licenseDeclared"`
	Refs     []spdxExternalRef `json:"externalRefs"`
}

// spdxRef is one package's identity as all SPDX decoding paths see it.
type spdxRef struct {
	id, name, version, purpose, license string
	purls                               []string
}

func supportedSPDX(v string) bool {
	switch v {
	case "SPDX-2.1", "SPDX-2.2", "SPDX-2.3":
		return true
	}
	return false
}

func decodeSPDXJSON(data []byte, fields map[string][]byte) (*Document, error) {
	var version, name string
	if err := json.Unmarshal(fields["spdxVersion"], &version); err != nil {
		return nil, fmt.Errorf("%s: spdxVersion is not a string", FormatSPDXJSON)
	}
	if !supportedSPDX(version) {
		return nil, fmt.Errorf("%s: unsupported spdxVersion %q (SPDX-2.1, SPDX-2.2 and SPDX-2.3 are supported)", FormatSPDXJSON, version)
	}
	_ = json.Unmarshal(fields["name"], &name)
	b := newBuilder(FormatSPDXJSON, strings.TrimPrefix(version, "SPDX-"))
	b.doc.Subject = name

	raw := bytes.TrimSpace(fields["packages"])
	if raw == nil || isNull(raw) {
		return b.finish(), nil
	}
	var refs []spdxRef
	var pkgs []spdxPackage
	err := json.Unmarshal(raw, &pkgs)
	if err == nil {
		refs = make([]spdxRef, 0, len(pkgs))
		for i := range pkgs {
			refs = append(refs, refFromJSON(&pkgs[i]))
		}
	} else {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, jsonError(FormatSPDXJSON, data, nil)
		}
		// One package the library rejects must not lose the others.
		var rawPkgs []json.RawMessage
		if jerr := json.Unmarshal(raw, &rawPkgs); jerr != nil {
			return nil, jsonError(FormatSPDXJSON+": packages", raw, jerr)
		}
		for i, rp := range rawPkgs {
			var p spdxPackage
			if perr := json.Unmarshal(rp, &p); perr == nil {
				refs = append(refs, refFromJSON(&p))
				continue
			}
			var m spdxMinimal
			if merr := json.Unmarshal(rp, &m); merr != nil {
				b.unidentified("", "", "", fmt.Sprintf("package %d is malformed: %v", i, merr))
				continue
			}
			r := spdxRef{id: strings.TrimPrefix(m.SPDXID, "SPDXRef-"), name: m.Name, version: m.Version, purpose: m.Purpose, license: m.Declared}
			for _, ref := range m.Refs {
				if isPURLRef(ref.Category, ref.Type) {
					r.purls = append(r.purls, ref.Locator)
				}
			}
			refs = append(refs, r)
		}
	}
	addSPDX(b, refs)
	return b.finish(), nil
}

func decodeSPDXTagValue(data []byte) (*Document, error) {
	doc, err := tagvalue.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", FormatSPDXTagValue, err)
	}
	version := "2.3"
	for _, line := range strings.SplitN(string(head(data, 8192)), "\n", 64) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SPDXVersion:"); ok {
			version = strings.TrimPrefix(strings.TrimSpace(v), "SPDX-")
			break
		}
	}
	b := newBuilder(FormatSPDXTagValue, version)
	b.doc.Subject = doc.DocumentName
	refs := make([]spdxRef, 0, len(doc.Packages))
	for _, p := range doc.Packages {
		if p != nil {
			refs = append(refs, refFromLibrary(p))
		}
	}
	addSPDX(b, refs)
	return b.finish(), nil
}

func isPURLRef(category, typ string) bool {
	if !strings.EqualFold(typ, "purl") {
		return false
	}
	c := strings.ToUpper(strings.ReplaceAll(category, "_", "-"))
	return c == "PACKAGE-MANAGER" || c == "OTHER" || c == ""
}

func refFromJSON(p *spdxPackage) spdxRef {
	lp := v2_3.Package(p.libPackage)
	r := refFromLibrary(&lp)
	for _, ref := range p.ExternalRefs {
		if isPURLRef(ref.Category, ref.Type) {
			r.purls = append(r.purls, ref.Locator)
		}
	}
	return r
}

func refFromLibrary(p *v2_3.Package) spdxRef {
	r := spdxRef{
		id:      string(p.PackageSPDXIdentifier),
		name:    p.PackageName,
		version: p.PackageVersion,
		purpose: p.PrimaryPackagePurpose,
		license: p.PackageLicenseDeclared,
	}
	if r.license == "" || r.license == "NOASSERTION" || r.license == "NONE" {
		r.license = p.PackageLicenseConcluded
	}
	for _, ref := range p.PackageExternalReferences {
		if ref != nil && isPURLRef(ref.Category, ref.RefType) {
			r.purls = append(r.purls, ref.Locator)
		}
	}
	return r
}

// addSPDX turns SPDX packages into entries. The operating system is a
// package with primaryPackagePurpose OPERATING-SYSTEM (Trivy, which does not
// set the purpose, names it SPDXRef-OperatingSystem-…); it describes the
// image rather than being one of its packages.
func addSPDX(b *builder, refs []spdxRef) {
	for _, r := range refs {
		if strings.EqualFold(r.purpose, "OPERATING-SYSTEM") || strings.EqualFold(r.purpose, "OPERATING_SYSTEM") ||
			(strings.HasPrefix(r.id, "OperatingSystem-") && len(r.purls) == 0) {
			if b.doc.Distro == nil {
				b.doc.Distro = distroFromName(r.name, r.version)
			}
			continue
		}
		lic := r.license
		var licenses []string
		if lic != "" && lic != "NOASSERTION" && lic != "NONE" {
			licenses = []string{lic}
		}
		if len(r.purls) == 0 {
			b.unidentified(r.name, r.version, "", "no purl in externalRefs")
			continue
		}
		b.add(r.purls[0], hints{name: r.name, version: r.version, licenses: licenses})
	}
}
