package vuln

import (
	"regexp"
	"strings"
)

// Ecosystem is an OSV ecosystem string split into the parts matching needs:
// "Ubuntu:Pro:18.04:LTS" → {Base: Ubuntu, Release: 18.04, Variant: Pro:LTS}.
type Ecosystem struct {
	Base    string
	Release string
	Variant string
}

var releaseNumber = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)$`)

// ParseEcosystem splits an OSV ecosystem string. Releases are normalised the
// way sbom normalises package releases: Alpine "v3.19" → "3.19", Red Hat
// "enterprise_linux:8::appstream" → "8".
func ParseEcosystem(s string) Ecosystem {
	base, rest, ok := strings.Cut(s, ":")
	e := Ecosystem{Base: base}
	if !ok {
		return e
	}
	var variants []string
	for _, part := range strings.Split(rest, ":") {
		if part == "" {
			continue
		}
		if m := releaseNumber.FindStringSubmatch(part); m != nil && e.Release == "" {
			e.Release = m[1]
			continue
		}
		if e.Release == "" && base == "Red Hat" {
			// Red Hat CPE-style streams: enterprise_linux:8, rhel_eus:8.6
			continue
		}
		variants = append(variants, part)
	}
	e.Variant = strings.Join(variants, ":")
	if base == "Red Hat" || base == "AlmaLinux" || base == "Rocky Linux" {
		e.Release, _, _ = strings.Cut(e.Release, ".") // advisories per major release
	}
	return e
}

// IsDistro reports whether advisories of this ecosystem are per distro
// release and written against source packages.
func IsDistro(base string) bool {
	switch base {
	case "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "Red Hat", "AlmaLinux",
		"Rocky Linux", "openSUSE", "SUSE", "openEuler", "Mageia", "Photon OS",
		"Azure Linux", "MinimOS", "Alpaquita", "BellSoft Hardened Containers", "Echo":
		return true
	}
	return false
}

// releaseless reports distros whose advisories carry no release: a rolling
// distro (Wolfi, Chainguard) matches every package of its ecosystem.
func releaseless(base string) bool {
	switch base {
	case "Wolfi", "Chainguard", "MinimOS":
		return true
	}
	return false
}

// NameKey is the form of a package name under which advisories are looked
// up: PEP 503 for PyPI, case-folded where the ecosystem is case-insensitive
// (NuGet, Packagist, npm, RubyGems is not).
func NameKey(base, name string) string {
	switch base {
	case "PyPI":
		return pep503(name)
	case "NuGet", "Packagist", "npm":
		return strings.ToLower(name)
	}
	return name
}

func pep503(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}
