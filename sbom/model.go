package sbom

// Package is one software package found in an SBOM, normalised so that it can
// be matched against OSV advisories without knowing which SBOM format it came
// from.
//
// Identity for matching is (Ecosystem, Release, Name, Version); SourceName and
// SourceVersion carry the distro source package (deb source, rpm source RPM,
// apk origin) because distro advisories are written against source packages.
type Package struct {
	// PURL is the canonical package URL (github.com/package-url/packageurl-go),
	// with legacy spellings normalised (pkg:alpine/… → pkg:apk/alpine/…).
	PURL string `json:"purl"`
	// Type is the purl type: deb, apk, rpm, golang, npm, pypi, maven, nuget, gem, cargo, composer, …
	Type string `json:"type"`
	// Ecosystem is the OSV ecosystem name without release: "Debian", "Ubuntu",
	// "Alpine", "Red Hat", "AlmaLinux", "Rocky Linux", "Go", "npm", "PyPI",
	// "Maven", "NuGet", "RubyGems", "crates.io", "Packagist", …
	Ecosystem string `json:"ecosystem"`
	// Release is the distro release for OS packages ("12", "22.04", "3.19",
	// "8"), empty for language packages.
	Release string `json:"release,omitempty"`
	// Name is the name in the ecosystem's advisory namespace: PEP 503 for
	// PyPI, group:artifact for Maven, @scope/name for npm, module path for Go.
	Name string `json:"name"`
	// Version is the effective version in the ecosystem's own syntax (rpm:
	// [epoch:]version-release; Go: without the leading "v" is not required).
	Version string `json:"version"`
	// SourceName and SourceVersion name the distro source package, when known.
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Licenses as declared by the SBOM (SPDX expressions or names).
	Licenses []string `json:"licenses,omitempty"`
}

// Key is the identity used for de-duplication within one SBOM.
func (p Package) Key() string {
	return p.Ecosystem + "\x00" + p.Release + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.SourceName + "\x00" + p.SourceVersion
}

// Unidentified is a package entry that could not be given a matchable
// identity. It is counted and reported, never silently dropped.
type Unidentified struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	PURL    string `json:"purl,omitempty"`
	Reason  string `json:"reason"`
}

// Distro is the operating system an SBOM describes, when it says so.
type Distro struct {
	ID        string `json:"id"`         // os-release ID: debian, ubuntu, alpine, rhel, …
	VersionID string `json:"version_id"` // os-release VERSION_ID: 12, 22.04, 3.19.1, 9.6
	// Variant marks a distro-based image that is not the distro's own
	// image: "distroless" (gcr.io/distroless: Debian packages, no package
	// manager, os-release PRETTY_NAME "Distroless"). Matching uses ID and
	// VersionID; the variant is for people and base attribution.
	Variant string `json:"variant,omitempty"`
}

// VariantDistroless is Distro.Variant for Google's distroless images.
const VariantDistroless = "distroless"

// Document is a decoded SBOM in the common model.
type Document struct {
	Format        string         `json:"format"`         // see the Format* constants
	FormatVersion string         `json:"format_version"` // schema/spec version as written in the document
	Subject       string         `json:"subject,omitempty"`
	Distro        *Distro        `json:"distro,omitempty"`
	Packages      []Package      `json:"packages"`
	Unidentified  []Unidentified `json:"unidentified,omitempty"`
}

// Formats the decoders recognise.
const (
	FormatSyftJSON      = "syft-json"
	FormatCycloneDXJSON = "cyclonedx-json"
	FormatCycloneDXXML  = "cyclonedx-xml"
	FormatSPDXJSON      = "spdx-json"
	FormatSPDXTagValue  = "spdx-tag-value"
	FormatTrivyJSON     = "trivy-json"
)
