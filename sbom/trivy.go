package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// Trivy JSON reports (trivy image --format json) are decoded with local
// types: Trivy's own module is far too large a dependency for a dozen
// fields.

type trivyOS struct {
	Family string `json:"Family"`
	Name   string `json:"Name"`
}

type trivyIdentifier struct {
	PURL string `json:"PURL"`
}

type trivyPackage struct {
	Name       string          `json:"Name"`
	Version    string          `json:"Version"`
	Release    string          `json:"Release"`
	Epoch      json.RawMessage `json:"Epoch"`
	SrcName    string          `json:"SrcName"`
	SrcVersion string          `json:"SrcVersion"`
	SrcRelease string          `json:"SrcRelease"`
	SrcEpoch   json.RawMessage `json:"SrcEpoch"`
	Licenses   []string        `json:"Licenses"`
	Identifier trivyIdentifier `json:"Identifier"`
}

type trivyVulnerability struct {
	PkgName          string          `json:"PkgName"`
	InstalledVersion string          `json:"InstalledVersion"`
	PkgIdentifier    trivyIdentifier `json:"PkgIdentifier"`
}

type trivyResult struct {
	Target          string            `json:"Target"`
	Class           string            `json:"Class"`
	Type            string            `json:"Type"`
	Packages        []json.RawMessage `json:"Packages"`
	Vulnerabilities []json.RawMessage `json:"Vulnerabilities"`
}

// decodeTrivy reads a Trivy report. Packages come from each result's
// Packages list (present with --list-all-pkgs). A result without a package
// list but with vulnerabilities (the default output) still yields the
// vulnerable packages from PkgName/InstalledVersion/PkgIdentifier: that is
// only part of the image, but dropping it would make a report look clean.
func decodeTrivy(fields map[string][]byte) (*Document, error) {
	var schema json.Number
	_ = json.Unmarshal(fields["SchemaVersion"], &schema)
	b := newBuilder(FormatTrivyJSON, schema.String())
	_ = json.Unmarshal(fields["ArtifactName"], &b.doc.Subject)
	var family string
	if raw := fields["Metadata"]; raw != nil && !isNull(raw) {
		var md struct {
			OS *trivyOS `json:"OS"`
		}
		if err := json.Unmarshal(raw, &md); err != nil {
			return nil, jsonError(FormatTrivyJSON+": Metadata", raw, err)
		}
		if md.OS != nil && md.OS.Family != "" && md.OS.Family != "none" {
			family = md.OS.Family
			b.doc.Distro = distroFromName(trivyFamilyID(md.OS.Family), md.OS.Name)
		}
	}
	raw := bytes.TrimSpace(fields["Results"])
	if raw == nil || isNull(raw) {
		return b.finish(), nil
	}
	var results []json.RawMessage
	if err := json.Unmarshal(raw, &results); err != nil {
		return nil, jsonError(FormatTrivyJSON+": Results", raw, err)
	}
	for i, rr := range results {
		var r trivyResult
		if err := json.Unmarshal(rr, &r); err != nil {
			b.unidentified("", "", "", fmt.Sprintf("result %d is malformed: %v", i, err))
			continue
		}
		if len(r.Packages) > 0 {
			for j, rp := range r.Packages {
				var p trivyPackage
				if err := json.Unmarshal(rp, &p); err != nil {
					b.unidentified("", "", "", fmt.Sprintf("result %d package %d is malformed: %v", i, j, err))
					continue
				}
				addTrivyPackage(b, r, family, p)
			}
			continue
		}
		for j, rv := range r.Vulnerabilities {
			var v trivyVulnerability
			if err := json.Unmarshal(rv, &v); err != nil {
				b.unidentified("", "", "", fmt.Sprintf("result %d vulnerability %d is malformed: %v", i, j, err))
				continue
			}
			addTrivyPackage(b, r, family, trivyPackage{Name: v.PkgName, Version: v.InstalledVersion, Identifier: v.PkgIdentifier})
		}
	}
	return b.finish(), nil
}

func addTrivyPackage(b *builder, r trivyResult, family string, p trivyPackage) {
	epoch := rawNumber(p.Epoch)
	version := p.Version
	if p.Release != "" {
		version += "-" + p.Release
	}
	h := hints{name: p.Name, version: version, epoch: epoch, licenses: p.Licenses}
	if p.SrcName != "" {
		h.sourceName = p.SrcName
		h.sourceVersion = joinEVR(rawNumber(p.SrcEpoch), p.SrcVersion, p.SrcRelease)
	}
	purl := p.Identifier.PURL
	if purl == "" {
		purl = trivyPURL(r, family, p.Name, version)
	}
	if purl == "" {
		b.unidentified(p.Name, version, "", fmt.Sprintf("no purl (Trivy result type %q)", r.Type))
		return
	}
	b.add(purl, h)
}

// trivyPURL builds a purl for reports from Trivy versions that wrote no
// Identifier.PURL, from the result type and the OS family.
func trivyPURL(r trivyResult, family, name, version string) string {
	if name == "" {
		return ""
	}
	ns, typ := "", ""
	if r.Class == "os-pkgs" {
		fam, ok := lookupOS(trivyFamilyID(family))
		if !ok {
			return ""
		}
		typ, ns = fam.pkgType, fam.namespace
	} else {
		switch r.Type {
		case "npm", "yarn", "pnpm", "bun", "node-pkg":
			typ = "npm"
			if strings.HasPrefix(name, "@") {
				if i := strings.IndexByte(name, '/'); i > 0 {
					ns, name = name[:i], name[i+1:]
				}
			}
		case "pip", "pipenv", "poetry", "uv", "python-pkg", "pylock":
			typ = "pypi"
		case "gomod", "gobinary":
			typ = "golang"
			if i := strings.LastIndexByte(name, '/'); i > 0 {
				ns, name = name[:i], name[i+1:]
			}
		case "bundler", "gemspec":
			typ = "gem"
		case "cargo", "rustbinary":
			typ = "cargo"
		case "composer", "composer-vendor":
			typ = "composer"
			if i := strings.IndexByte(name, '/'); i > 0 {
				ns, name = name[:i], name[i+1:]
			}
		case "nuget", "dotnet-core", "packages-props":
			typ = "nuget"
		case "jar", "pom", "gradle", "sbt":
			typ = "maven"
			if i := strings.IndexByte(name, ':'); i > 0 {
				ns, name = name[:i], name[i+1:]
			}
		case "pub":
			typ = "pub"
		case "hex":
			typ = "hex"
		case "conan":
			typ = "conan"
		case "swift":
			typ = "swift"
		default:
			return ""
		}
	}
	return packageurl.NewPackageURL(typ, ns, name, version, nil, "").ToString()
}

// trivyFamilyID maps Trivy's OS family names to os-release IDs.
func trivyFamilyID(family string) string {
	switch strings.ToLower(family) {
	case "redhat":
		return "rhel"
	case "alma":
		return "almalinux"
	case "amazon":
		return "amzn"
	case "oracle":
		return "ol"
	case "cbl-mariner":
		return "mariner"
	case "slem", "sles", "suse linux enterprise server", "suse linux enterprise micro":
		return "sles"
	}
	return strings.ToLower(family)
}

// rawNumber reads a JSON number or string (Trivy epochs are numbers, some
// producers quote them); 0 and absent give "".
func rawNumber(raw json.RawMessage) string {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || s == "null" {
		return ""
	}
	if n, err := strconv.Atoi(s); err != nil || n <= 0 {
		return ""
	}
	return s
}
