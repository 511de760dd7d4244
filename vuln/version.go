package vuln

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// ErrUnorderable is returned for ecosystems whose versions have no ordering
// we can trust; such packages are reported, never guessed at.
var ErrUnorderable = errors.New("no version ordering for ecosystem")

// Version is a parsed version of one ecosystem.
type Version struct {
	raw string
	v   semantic.Version
}

// String returns the version as written.
func (v Version) String() string { return v.raw }

// Compare orders v against w (-1, 0, +1). Both must come from the same ecosystem.
func (v Version) Compare(w Version) (int, error) { return v.v.Compare(w.v) }

// ParseVersion parses version in ecosystem's ordering. ecosystem is an OSV
// ecosystem name, with or without a release suffix ("Debian:12").
func ParseVersion(ecosystem, version string) (Version, error) {
	base, _, _ := strings.Cut(ecosystem, ":")
	if version == "" {
		return Version{}, fmt.Errorf("%s: empty version", base)
	}
	norm := version
	switch base {
	case "Go":
		norm = goVersion(version)
	case "openSUSE", "SUSE", "Red Hat", "AlmaLinux", "Rocky Linux", "openEuler", "Mageia":
		norm = strings.TrimPrefix(version, "0:") // an explicit zero epoch is the same as none
	}
	if semverLike(base) && !semverStart.MatchString(norm) {
		// "(devel)", "latest" or a commit hash are not versions; the lenient
		// SemVer parser would read them as 0.0.0 and match every range.
		return Version{}, fmt.Errorf("%s version %q: not a version", base, version)
	}
	sv, err := semantic.Parse(norm, base)
	if err != nil {
		if errors.Is(err, semantic.ErrUnsupportedEcosystem) {
			return Version{}, fmt.Errorf("%w %q", ErrUnorderable, base)
		}
		return Version{}, fmt.Errorf("%s version %q: %w", base, version, err)
	}
	return Version{raw: version, v: sv}, nil
}

// CompareVersions parses and compares a and b in ecosystem's ordering.
func CompareVersions(ecosystem, a, b string) (int, error) {
	va, err := ParseVersion(ecosystem, a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(ecosystem, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb)
}

var semverStart = regexp.MustCompile(`^v?\d`)

// semverLike lists ecosystems ordered by (a lenient) SemVer.
func semverLike(base string) bool {
	switch base {
	case "Go", "npm", "crates.io", "Hex", "Bitnami", "SwiftURL", "ConanCenter", "GHC", "Julia", "Bioconductor":
		return true
	}
	return false
}

var goToolchain = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$`)

// goVersion turns the Go toolchain spelling used for the standard library
// ("go1.19rc1", "go1.21", "go1.24.5") into the SemVer that Go advisories use
// ("1.19.0-rc.1", "1.21.0", "1.24.5"); module versions pass through.
func goVersion(s string) string {
	m := goToolchain.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	minor, patch := m[2], m[3]
	if minor == "" {
		minor = "0"
	}
	if patch == "" {
		patch = "0"
	}
	out := m[1] + "." + minor + "." + patch
	if m[4] != "" {
		out += "-" + m[4] + "." + m[5]
	}
	return out
}
