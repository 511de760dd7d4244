package sbom

import (
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// entry is one package as a format decoder found it, before identity is
// resolved. Resolution waits until the whole document has been read because
// the document's OS may only be known from other packages' purls (C47).
type entry struct {
	purl string
	h    hints
	// parsed and parseErr hold the normalised purl, filled once in finish.
	parsed   packageurl.PackageURL
	parseErr error
	// reason, when set, makes the entry Unidentified without looking at
	// the purl (for example an SPDX package with no purl at all).
	reason string
}

// builder collects entries and turns them into a Document.
type builder struct {
	doc     *Document
	entries []entry
}

func newBuilder(format, version string) *builder {
	return &builder{doc: &Document{Format: format, FormatVersion: version, Packages: []Package{}}}
}

func (b *builder) add(purl string, h hints) {
	b.entries = append(b.entries, entry{purl: strings.TrimSpace(purl), h: h})
}

func (b *builder) unidentified(name, version, purl, reason string) {
	b.entries = append(b.entries, entry{purl: purl, h: hints{name: name, version: version}, reason: reason})
}

// finish resolves every entry into a Package or an Unidentified, fills
// Document.Distro from purl qualifiers when the SBOM's metadata did not say,
// and collapses duplicates.
func (b *builder) finish() *Document {
	for i := range b.entries {
		if e := &b.entries[i]; e.reason == "" && e.purl != "" {
			e.parsed, e.parseErr = normalizePURL(e.purl)
		}
	}
	if b.doc.Distro == nil {
		b.doc.Distro = b.distroFromPURLs()
	}
	if b.doc.Distro != nil && b.doc.Distro.Variant == "" && isDistrolessName(b.doc.Subject) {
		b.doc.Distro.Variant = VariantDistroless
	}
	seen := make(map[string]bool, len(b.entries))
	seenU := make(map[Unidentified]bool)
	for _, e := range b.entries {
		reason := e.reason
		var pkg Package
		if reason == "" && e.purl == "" {
			reason = "no purl"
		}
		if reason == "" {
			var err error
			pkg, err = fromParsed(e.purl, e.parsed, e.parseErr, b.doc.Distro, e.h)
			if err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			u := Unidentified{Name: e.h.name, Version: e.h.version, PURL: e.purl, Reason: reason}
			if u.Name == "" {
				u.Name = pkg.Name
			}
			if u.Version == "" {
				u.Version = pkg.Version
			}
			if !seenU[u] {
				seenU[u] = true
				b.doc.Unidentified = append(b.doc.Unidentified, u)
			}
			continue
		}
		if k := pkg.Key(); !seen[k] {
			seen[k] = true
			b.doc.Packages = append(b.doc.Packages, pkg)
		}
	}
	return b.doc
}

// distroFromPURLs derives the document's OS from the distro qualifiers (and
// namespaces) of its OS package purls, choosing the most frequent one. Many
// SBOMs (foreign CycloneDX, Red Hat SPDX) carry the OS only there.
func (b *builder) distroFromPURLs() *Distro {
	counts := map[Distro]int{}
	var order []Distro
	for _, e := range b.entries {
		if e.reason != "" || e.purl == "" {
			continue
		}
		p, err := e.parsed, e.parseErr
		if err != nil || (p.Type != "deb" && p.Type != "apk" && p.Type != "rpm") {
			continue
		}
		id, ver := parseDistroQualifier(qualifier(p, "distro"))
		if id == "" {
			id = osReleaseID(p.Namespace)
		}
		if id == "" || ver == "" {
			continue
		}
		if n := debianCodename(ver); n != "" {
			ver = n
		} else if n := ubuntuCodename(ver); n != "" {
			ver = n
		}
		d := Distro{ID: id, VersionID: ver}
		if counts[d] == 0 {
			order = append(order, d)
		}
		counts[d]++
	}
	var best *Distro
	for i := range order {
		if best == nil || counts[order[i]] > counts[*best] {
			best = &order[i]
		}
	}
	return best
}

// distroFromName builds a Distro from an OS name and version as SBOMs write
// them ("alpine" "3.16.2", "Debian GNU/Linux" "12 (bookworm)", "centos"
// "7.6.1810", "Red Hat Enterprise Linux" "9.6").
func distroFromName(name, version string) *Distro {
	name = strings.TrimSpace(name)
	version = strings.TrimSpace(version)
	if name == "" {
		return nil
	}
	id := strings.ToLower(name)
	if _, ok := lookupOS(id); !ok {
		for _, known := range []struct{ prefix, id string }{
			{"debian", "debian"}, {"ubuntu", "ubuntu"}, {"alpine", "alpine"},
			{"red hat", "rhel"}, {"almalinux", "almalinux"}, {"rocky", "rocky"},
			{"centos", "centos"}, {"fedora", "fedora"}, {"amazon", "amzn"},
			{"oracle", "ol"}, {"opensuse", "opensuse"}, {"suse", "sles"},
			{"wolfi", "wolfi"}, {"chainguard", "chainguard"}, {"photon", "photon"},
			{"cbl-mariner", "mariner"}, {"azure linux", "azurelinux"},
		} {
			if strings.HasPrefix(id, known.prefix) {
				id = known.id
				break
			}
		}
	}
	for _, f := range strings.Fields(version) {
		if f[0] >= '0' && f[0] <= '9' {
			version = f
			break
		}
	}
	return &Distro{ID: id, VersionID: version}
}

// distrolessVariant is the Variant for an os-release PRETTY_NAME and
// HOME_URL: distroless images keep Debian's ID and VERSION_ID but say
// PRETTY_NAME="Distroless" and point HOME_URL at the project.
func distrolessVariant(prettyName, homeURL string) string {
	if strings.EqualFold(strings.TrimSpace(prettyName), "distroless") || strings.Contains(strings.ToLower(homeURL), "googlecontainertools/distroless") {
		return VariantDistroless
	}
	return ""
}

// isDistrolessName reports an image name under gcr.io/distroless (the
// subject of an SBOM of a distroless image, when its os-release is not
// recorded).
func isDistrolessName(subject string) bool {
	s := strings.ToLower(subject)
	return strings.HasPrefix(s, "gcr.io/distroless/") || strings.Contains(s, "/distroless/")
}
