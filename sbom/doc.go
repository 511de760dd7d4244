// Package sbom decodes software bills of materials (Syft JSON, CycloneDX JSON
// and XML, SPDX JSON and tag-value, Trivy JSON reports) into one package model.
//
// Every package is identified by a package URL (purl): a type (deb, apk, rpm,
// golang, npm, pypi, maven, …), an optional namespace (the distro, the Maven
// group, the npm scope), a name, a version and qualifiers such as distro=,
// epoch= or upstream=. From the purl and the SBOM's own metadata the decoder
// derives what vulnerability matching needs: the OSV ecosystem and distro
// release, the name as advisories spell it, the effective version, and for OS
// packages the source package that distro advisories are written against.
//
// The format is detected from the content, never from the file name.
//
// Decisions that callers may need to know:
//
//   - Decode returns a Document even when it has no usable packages; entries
//     that cannot be identified are listed in Document.Unidentified with a
//     reason. Treating "nothing analysed" as "nothing vulnerable" is the
//     caller's decision to refuse (ErrNoPackages exists for that).
//   - Duplicates collapse on Package.Key: the same package listed for
//     several architectures, or once as installed and once as a repository
//     entry, is one package.
//   - CycloneDX metadata.component and SPDX packages with purpose
//     OPERATING-SYSTEM describe the subject or its OS, not a package.
//   - The document's OS comes from the SBOM's own metadata (Syft distro,
//     CycloneDX operating-system component, SPDX OS package, Trivy
//     Metadata.OS); failing that, from the most frequent distro qualifier of
//     its OS package purls.
//   - Trivy reports without --list-all-pkgs yield the packages named by
//     their vulnerabilities: a partial inventory, but not an empty one.
//   - In-toto statements (plain, in a DSSE envelope, or one per line in a
//     .jsonl bundle) are unwrapped and their predicate decoded; so is an
//     SBOM wrapped as {"sbom": …}. Bare package lists (Trivy's fanal
//     goldens, Clair index reports) are ErrUnknownFormat.
//   - OS package ecosystems follow OSV names (Debian, Ubuntu, Alpine, Red
//     Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE, Wolfi, Chainguard, Azure
//     Linux for CBL-Mariner, …). Distros OSV does not cover (CentOS, Fedora,
//     Amazon Linux, Oracle Linux, Photon OS) get a readable name that simply
//     matches no OSV advisory.
//   - Syft JSON and Trivy reports are read with local types: their own Go
//     modules would bring in hundreds of dependencies for a dozen fields.
package sbom
