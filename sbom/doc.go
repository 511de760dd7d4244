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
package sbom
