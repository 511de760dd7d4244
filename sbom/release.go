package sbom

import "strings"

// osFamily describes how one distro's packages are identified: the purl type
// its packages use and the OSV ecosystem its advisories are published under.
type osFamily struct {
	pkgType   string // deb, apk or rpm
	ecosystem string // OSV ecosystem name, or a readable name OSV does not use
	namespace string // canonical purl namespace
	release   func(string) string
}

// lookupOS maps a purl namespace or an os-release ID to its family. It is a
// switch rather than a map so that the package holds no mutable state.
//
// Distros without OSV data (CentOS, Fedora, Amazon Linux, Oracle Linux,
// Photon OS, …) still get a readable ecosystem name; it simply matches no OSV
// advisory, which is what callers should see rather than a silent drop.
func lookupOS(id string) (osFamily, bool) {
	switch strings.ToLower(strings.TrimSpace(id)) {
	case "debian":
		return osFamily{"deb", "Debian", "debian", debianRelease}, true
	case "ubuntu":
		return osFamily{"deb", "Ubuntu", "ubuntu", ubuntuRelease}, true
	case "alpine":
		return osFamily{"apk", "Alpine", "alpine", alpineRelease}, true
	case "wolfi":
		return osFamily{"apk", "Wolfi", "wolfi", rollingRelease}, true
	case "chainguard":
		return osFamily{"apk", "Chainguard", "chainguard", rollingRelease}, true
	case "minimos":
		return osFamily{"apk", "MinimOS", "minimos", rollingRelease}, true
	case "alpaquita":
		return osFamily{"apk", "Alpaquita", "alpaquita", plainRelease}, true
	case "redhat", "rhel", "red hat", "ubi":
		return osFamily{"rpm", "Red Hat", "redhat", majorRelease}, true
	case "almalinux", "alma":
		return osFamily{"rpm", "AlmaLinux", "almalinux", majorRelease}, true
	case "rocky", "rockylinux", "rocky linux":
		return osFamily{"rpm", "Rocky Linux", "rocky", majorRelease}, true
	case "opensuse", "opensuse-leap", "opensuse-tumbleweed", "opensuse-leap-micro":
		return osFamily{"rpm", "openSUSE", "opensuse", plainRelease}, true
	case "suse", "sles", "sled", "sle-micro", "slem", "sle_hpc", "sles_sap":
		return osFamily{"rpm", "SUSE", "suse", plainRelease}, true
	case "mageia":
		return osFamily{"rpm", "Mageia", "mageia", plainRelease}, true
	case "openeuler":
		return osFamily{"rpm", "openEuler", "openeuler", plainRelease}, true
	case "azurelinux", "mariner", "cbl-mariner":
		// OSV publishes CBL-Mariner and Azure Linux data as "Azure Linux".
		return osFamily{"rpm", "Azure Linux", "azurelinux", plainRelease}, true
	case "centos":
		return osFamily{"rpm", "CentOS", "centos", majorRelease}, true
	case "fedora":
		return osFamily{"rpm", "Fedora", "fedora", majorRelease}, true
	case "amzn", "amazon", "amazonlinux":
		return osFamily{"rpm", "Amazon Linux", "amzn", plainRelease}, true
	case "ol", "oracle", "oraclelinux":
		return osFamily{"rpm", "Oracle Linux", "oracle", majorRelease}, true
	case "photon":
		return osFamily{"rpm", "Photon OS", "photon", plainRelease}, true
	}
	return osFamily{}, false
}

// unknownOS gives a distro the tables do not know a readable, capitalised
// ecosystem name, so it is reported rather than dropped.
func unknownOS(pkgType, id string) osFamily {
	id = strings.ToLower(strings.TrimSpace(id))
	eco := id
	if eco != "" {
		eco = strings.ToUpper(eco[:1]) + eco[1:]
	}
	return osFamily{pkgType, eco, id, plainRelease}
}

// osReleaseID is the os-release ID for a purl namespace, used to fill
// Document.Distro from purl qualifiers.
func osReleaseID(namespace string) string {
	switch namespace {
	case "redhat":
		return "rhel"
	case "oracle":
		return "ol"
	case "azurelinux":
		return "azurelinux"
	}
	return namespace
}

// debianCodename maps Debian codenames to release numbers; purl distro
// qualifiers and os-release files use both spellings.
func debianCodename(s string) string {
	switch s {
	case "hamm":
		return "2"
	case "slink":
		return "2.1"
	case "potato":
		return "2.2"
	case "woody":
		return "3.0"
	case "sarge":
		return "3.1"
	case "etch":
		return "4"
	case "lenny":
		return "5"
	case "squeeze":
		return "6"
	case "wheezy":
		return "7"
	case "jessie":
		return "8"
	case "stretch":
		return "9"
	case "buster":
		return "10"
	case "bullseye":
		return "11"
	case "bookworm":
		return "12"
	case "trixie":
		return "13"
	case "forky":
		return "14"
	case "duke":
		return "15"
	}
	return ""
}

// ubuntuCodename maps Ubuntu series names to YY.MM releases.
func ubuntuCodename(s string) string {
	switch s {
	case "precise":
		return "12.04"
	case "quantal":
		return "12.10"
	case "raring":
		return "13.04"
	case "saucy":
		return "13.10"
	case "trusty":
		return "14.04"
	case "utopic":
		return "14.10"
	case "vivid":
		return "15.04"
	case "wily":
		return "15.10"
	case "xenial":
		return "16.04"
	case "yakkety":
		return "16.10"
	case "zesty":
		return "17.04"
	case "artful":
		return "17.10"
	case "bionic":
		return "18.04"
	case "cosmic":
		return "18.10"
	case "disco":
		return "19.04"
	case "eoan":
		return "19.10"
	case "focal":
		return "20.04"
	case "groovy":
		return "20.10"
	case "hirsute":
		return "21.04"
	case "impish":
		return "21.10"
	case "jammy":
		return "22.04"
	case "kinetic":
		return "22.10"
	case "lunar":
		return "23.04"
	case "mantic":
		return "23.10"
	case "noble":
		return "24.04"
	case "oracular":
		return "24.10"
	case "plucky":
		return "25.04"
	case "questing":
		return "25.10"
	}
	return ""
}

// numericPrefix returns the leading run of digits and dots of the first
// token that starts with a digit ("9.4+eus" → "9.4", "2 (Karoo)" → "2",
// "AMI release 2018.03" → "2018.03", "el8" → "8").
func numericPrefix(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "v")
	for _, p := range []string{"el", "fc", "amzn"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) && s[len(p)] >= '0' && s[len(p)] <= '9' {
			s = s[len(p):]
			break
		}
	}
	start := strings.IndexAny(s, "0123456789")
	if start < 0 {
		return ""
	}
	end := start
	for end < len(s) && (s[end] == '.' || (s[end] >= '0' && s[end] <= '9')) {
		end++
	}
	return strings.TrimRight(s[start:end], ".")
}

// components returns the first n dot-separated parts of v.
func components(v string, n int) string {
	parts := strings.SplitN(v, ".", n+1)
	if len(parts) > n {
		parts = parts[:n]
	}
	return strings.Join(parts, ".")
}

// debianRelease gives the Debian major release OSV uses ("12"), from "12",
// "12.5", "bookworm" or "12 (bookworm)".
func debianRelease(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	if r := debianCodename(l); r != "" {
		return r
	}
	if n := numericPrefix(l); n != "" {
		return components(n, 1)
	}
	if l == "sid" || l == "unstable" {
		return "sid"
	}
	return ""
}

// ubuntuRelease gives "YY.MM" from "22.04", "22.04.2", "jammy" or
// "22.04.5 LTS (Jammy Jellyfish)".
func ubuntuRelease(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	if r := ubuntuCodename(l); r != "" {
		return r
	}
	if n := numericPrefix(l); n != "" {
		return components(n, 2)
	}
	return ""
}

// alpineRelease gives "major.minor" ("3.19") from "3.19.1" or "v3.19";
// "edge" stays "edge".
func alpineRelease(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	if strings.HasPrefix(l, "edge") {
		return "edge"
	}
	if n := numericPrefix(l); n != "" {
		return components(n, 2)
	}
	return ""
}

// majorRelease gives the major version used by RHEL-like advisories ("8")
// from "8.6", "el8", "9.4+eus" or "8 (Ootpa)".
func majorRelease(v string) string {
	if n := numericPrefix(v); n != "" {
		return components(n, 1)
	}
	return ""
}

// plainRelease keeps the numeric release as written ("15.3", "2023",
// "2018.03"); these distros' advisories use the full release.
func plainRelease(v string) string {
	if n := numericPrefix(v); n != "" {
		return n
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// rollingRelease is for rolling distros whose OSV ecosystem has no release.
func rollingRelease(string) string { return "" }

// parseDistroQualifier splits a purl distro= qualifier into an os-release
// style ID and version: "debian-12" → (debian, 12), "alpine-3.19.1" →
// (alpine, 3.19.1), "12" → ("", 12), "bookworm" → ("", bookworm),
// "el8" → ("", el8), "opensuse-leap-15.1" → (opensuse-leap, 15.1).
func parseDistroQualifier(q string) (id, version string) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return "", ""
	}
	if q[0] >= '0' && q[0] <= '9' {
		return "", q
	}
	for i := 0; i+1 < len(q); i++ {
		if q[i] == '-' && q[i+1] >= '0' && q[i+1] <= '9' {
			return q[:i], q[i+1:]
		}
	}
	if _, ok := lookupOS(q); ok {
		return q, ""
	}
	if i := strings.LastIndexByte(q, '-'); i > 0 {
		return q[:i], q[i+1:]
	}
	return "", q
}
