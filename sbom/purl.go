package sbom

import (
	"fmt"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// NormalizePURL canonicalises a purl string with packageurl-go and rewrites
// legacy or tool-specific spellings to the registered purl types, so that
// the same package always has the same purl whichever tool described it:
//
//   - pkg:alpine/x → pkg:apk/alpine/x (also wolfi, chainguard)
//   - pkg:debian/x, pkg:dpkg/x → pkg:deb/…; pkg:go/… → pkg:golang/…;
//     pkg:rubygems → pkg:gem; pkg:crates, pkg:rust → pkg:cargo;
//     pkg:pip, pkg:python → pkg:pypi; pkg:packagist → pkg:composer
//   - pkg:dotnet/X is mapped to pkg:nuget/X only when it has no namespace
//     and X is a valid NuGet package ID; anything else is an error rather
//     than a silently unmatched package
//   - an OS package without namespace takes it from a distro= qualifier
//     naming a known distro (pkg:apk/x?distro=alpine-3.20 → pkg:apk/alpine/x)
//   - rpm namespace rhel → redhat
//   - PyPI names are PEP 503 normalised.
//
// Go module paths keep their case: packageurl-go lowercases golang
// namespaces and names, but module paths are case-sensitive and the Go
// vulnerability database spells them exactly (github.com/BurntSushi/toml).
func NormalizePURL(s string) (string, error) {
	p, err := normalizePURL(s)
	if err != nil {
		return "", err
	}
	return p.ToString(), nil
}

func normalizePURL(s string) (packageurl.PackageURL, error) {
	s = strings.TrimSpace(s)
	p, err := packageurl.FromString(s)
	if err != nil {
		return p, err
	}
	switch p.Type {
	case "alpine", "wolfi", "chainguard":
		if p.Namespace == "" || p.Namespace == p.Type {
			p.Namespace = p.Type
		}
		p.Type = "apk"
	case "debian", "ubuntu":
		if p.Namespace == "" || p.Namespace == p.Type {
			p.Namespace = p.Type
		}
		p.Type = "deb"
	case "dpkg":
		p.Type = "deb"
	case "go":
		p.Type = "golang"
	case "rubygems":
		p.Type = "gem"
	case "crates", "crate", "rust":
		p.Type = "cargo"
	case "pip", "python":
		p.Type = "pypi"
	case "packagist":
		p.Type = "composer"
	case "dotnet":
		if p.Namespace != "" || !validNuGetID(p.Name) {
			return p, fmt.Errorf("purl type dotnet is not a registered purl type and %q cannot be mapped to nuget unambiguously", s)
		}
		p.Type = "nuget"
	}
	switch p.Type {
	case "pypi":
		p.Name = pep503(p.Name)
	case "composer":
		p.Namespace, p.Name = strings.ToLower(p.Namespace), strings.ToLower(p.Name)
	case "deb", "apk", "rpm":
		p.Namespace = strings.ToLower(p.Namespace)
		if p.Namespace == "" {
			id, _ := parseDistroQualifier(qualifier(p, "distro"))
			if fam, ok := lookupOS(id); ok && fam.pkgType == p.Type {
				p.Namespace = fam.namespace
			}
		}
		if p.Type == "rpm" && p.Namespace == "rhel" {
			p.Namespace = "redhat"
		}
	}
	if err := p.Normalize(); err != nil {
		return p, err
	}
	if p.Type == "golang" {
		// Re-read namespace and name without packageurl-go's lowercasing.
		if _, rest, ok := splitPURLType(s); ok {
			if raw, err := packageurl.FromString("pkg:generic/" + rest); err == nil {
				p.Namespace, p.Name = strings.Trim(raw.Namespace, "/"), raw.Name
			}
		}
	}
	return p, nil
}

// splitPURLType splits "pkg:type/rest" into type and rest.
func splitPURLType(s string) (typ, rest string, ok bool) {
	if len(s) < 4 || !strings.EqualFold(s[:4], "pkg:") {
		return "", "", false
	}
	return strings.Cut(strings.TrimLeft(s[4:], "/"), "/")
}

func qualifier(p packageurl.PackageURL, key string) string {
	for _, q := range p.Qualifiers {
		if q.Key == key {
			return q.Value
		}
	}
	return ""
}

// validNuGetID reports whether s is a NuGet package ID (letters, digits,
// '.', '-', '_'), the only case in which pkg:dotnet can be read as nuget.
func validNuGetID(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pep503 normalises a Python distribution name: lowercase, runs of -_.
// become one '-'. Advisories and SBOMs spell names differently (PyYAML,
// pyyaml, zope.interface, zope_interface).
func pep503(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(c)
	}
	return b.String()
}

// langEcosystem maps language purl types to OSV ecosystem names.
func langEcosystem(purlType string) (string, bool) {
	switch purlType {
	case "golang":
		return "Go", true
	case "npm":
		return "npm", true
	case "pypi":
		return "PyPI", true
	case "maven":
		return "Maven", true
	case "nuget":
		return "NuGet", true
	case "gem":
		return "RubyGems", true
	case "cargo":
		return "crates.io", true
	case "composer":
		return "Packagist", true
	case "pub":
		return "Pub", true
	case "hex":
		return "Hex", true
	case "swift":
		return "SwiftURL", true
	case "cran":
		return "CRAN", true
	case "hackage":
		return "Hackage", true
	case "conan":
		return "ConanCenter", true
	case "githubactions":
		return "GitHub Actions", true
	case "bitnami":
		return "Bitnami", true
	case "opam":
		return "opam", true
	case "julia":
		return "Julia", true
	}
	return "", false
}

// hints carries what an SBOM says about a package besides its purl: the
// SBOM's own name and version fields and the source package metadata that
// some formats keep outside the purl.
type hints struct {
	name, version string
	sourceName    string // may be "name (version)" as Syft writes dpkg sources
	sourceVersion string
	sourceRPM     string // "perl-5.16.3-299.el7_9.src.rpm"
	epoch         string
	licenses      []string
}

// FromPURL builds a Package from a purl string. distro is the document's
// operating system when known (may be nil); it supplies the release for OS
// packages whose purl has no distro qualifier. An error means the package
// cannot be matched (invalid purl, no version, a purl type without a
// vulnerability ecosystem); the returned Package then still carries what
// could be read, for reporting.
func FromPURL(purl string, distro *Distro) (Package, error) {
	return fromPURL(purl, distro, hints{})
}

func fromPURL(raw string, distro *Distro, h hints) (Package, error) {
	p, err := normalizePURL(raw)
	return fromParsed(raw, p, err, distro, h)
}

// fromParsed is fromPURL for a purl already normalised (err is the
// normalisation error), so that a document's purls are parsed only once.
func fromParsed(raw string, p packageurl.PackageURL, err error, distro *Distro, h hints) (Package, error) {
	if err != nil {
		return Package{PURL: raw, Name: h.name, Version: h.version}, fmt.Errorf("invalid purl %q: %v", raw, err)
	}
	if p.Version == "" && h.version != "" {
		p.Version = h.version
	}
	pkg := Package{Type: p.Type, Name: p.Name, Version: p.Version, Licenses: h.licenses}
	pkg.PURL = p.ToString()
	if p.Version == "" {
		return pkg, fmt.Errorf("package %s has no version", pkg.PURL)
	}
	switch p.Type {
	case "deb", "apk", "rpm":
		return osPackage(pkg, p, distro, h)
	}
	eco, ok := langEcosystem(p.Type)
	if !ok {
		return pkg, fmt.Errorf("purl type %s has no vulnerability ecosystem", p.Type)
	}
	pkg.Ecosystem = eco
	switch p.Type {
	case "maven":
		if p.Namespace == "" {
			return pkg, fmt.Errorf("maven purl %s has no groupId namespace", pkg.PURL)
		}
		pkg.Name = p.Namespace + ":" + p.Name
	case "npm":
		if p.Namespace != "" {
			ns := p.Namespace
			if !strings.HasPrefix(ns, "@") {
				ns = "@" + ns
			}
			pkg.Name = ns + "/" + p.Name
		}
	case "golang", "composer", "swift", "githubactions":
		if p.Namespace != "" {
			pkg.Name = p.Namespace + "/" + p.Name
		}
	case "pypi":
		pkg.Name = pep503(p.Name)
	}
	return pkg, nil
}

// osPackage fills the distro-specific identity of a deb, apk or rpm.
func osPackage(pkg Package, p packageurl.PackageURL, distro *Distro, h hints) (Package, error) {
	qid, qver := parseDistroQualifier(qualifier(p, "distro"))
	var fam osFamily
	var ok bool
	switch {
	case p.Namespace != "":
		if fam, ok = lookupOS(p.Namespace); !ok {
			fam = unknownOS(p.Type, p.Namespace)
		}
	case qid != "":
		if fam, ok = lookupOS(qid); !ok {
			fam = unknownOS(p.Type, qid)
		}
	case distro != nil && distro.ID != "":
		if fam, ok = lookupOS(distro.ID); !ok {
			fam = unknownOS(p.Type, distro.ID)
		}
	default:
		return pkg, fmt.Errorf("%s purl %s names no distro (no namespace, no distro qualifier, no OS in the document)", p.Type, pkg.PURL)
	}
	if fam.pkgType != p.Type {
		return pkg, fmt.Errorf("purl %s: type %s does not fit distro %s", pkg.PURL, p.Type, fam.namespace)
	}
	pkg.Ecosystem = fam.ecosystem
	if qver != "" && (qid == "" || sameFamily(qid, fam)) {
		pkg.Release = fam.release(qver)
	}
	if pkg.Release == "" && distro != nil && sameFamily(distro.ID, fam) {
		pkg.Release = fam.release(distro.VersionID)
	}

	// Effective version: rpm and deb epochs may live in a qualifier or in
	// the SBOM's own metadata instead of the version string.
	if p.Type != "apk" && !hasEpoch(pkg.Version) {
		epoch := qualifier(p, "epoch")
		if epoch == "" {
			epoch = h.epoch
		}
		switch {
		case epoch != "" && epoch != "0":
			pkg.Version = epoch + ":" + pkg.Version
		case epoch == "" && hasEpoch(h.version) && h.version[strings.IndexByte(h.version, ':')+1:] == pkg.Version:
			pkg.Version = h.version
		}
	}

	// Source package: distro advisories are written against it.
	up := qualifier(p, "upstream")
	switch {
	case p.Type == "rpm" && h.sourceRPM != "":
		pkg.SourceName, pkg.SourceVersion = parseSourceRPM(h.sourceRPM)
	case p.Type == "rpm" && strings.HasSuffix(up, ".rpm"):
		pkg.SourceName, pkg.SourceVersion = parseSourceRPM(up)
	case up != "":
		pkg.SourceName, pkg.SourceVersion = parseSourceField(up)
	case h.sourceName != "":
		pkg.SourceName, pkg.SourceVersion = parseSourceField(h.sourceName)
		if h.sourceVersion != "" {
			pkg.SourceVersion = h.sourceVersion
		}
	}
	if pkg.SourceName == "" {
		pkg.SourceName = pkg.Name
	}
	if pkg.SourceVersion == "" {
		pkg.SourceVersion = pkg.Version
	} else if p.Type == "rpm" && hasEpoch(pkg.Version) && !hasEpoch(pkg.SourceVersion) {
		// A source RPM name carries no epoch; the binary's epoch is the
		// source's epoch.
		pkg.SourceVersion = pkg.Version[:strings.IndexByte(pkg.Version, ':')+1] + pkg.SourceVersion
	}
	return pkg, nil
}

func sameFamily(id string, fam osFamily) bool {
	f, ok := lookupOS(id)
	if !ok {
		return strings.EqualFold(id, fam.namespace)
	}
	return f.ecosystem == fam.ecosystem
}

// hasEpoch reports whether v starts with "N:".
func hasEpoch(v string) bool {
	i := strings.IndexByte(v, ':')
	if i <= 0 {
		return false
	}
	for _, c := range v[:i] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseSourceField reads a source package reference: "perl",
// "perl@5.40.1-6" (purl upstream qualifier) or "perl (5.40.1-6)" (Syft dpkg
// metadata).
func parseSourceField(s string) (name, version string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1 : len(s)-1])
	}
	if i := strings.IndexByte(s, '@'); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// parseSourceRPM splits a source RPM file name into name and
// version-release: "perl-5.16.3-299.el7_9.src.rpm" → ("perl",
// "5.16.3-299.el7_9"). A name that does not have the N-V-R shape is
// returned whole with no version.
func parseSourceRPM(s string) (name, version string) {
	s = strings.TrimSpace(s)
	for _, suf := range []string{".src.rpm", ".nosrc.rpm", ".rpm"} {
		if strings.HasSuffix(s, suf) {
			s = strings.TrimSuffix(s, suf)
			break
		}
	}
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return s, ""
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return s, ""
	}
	return s[:v], s[v+1:]
}
