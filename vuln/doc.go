// Package vuln decides which advisories affect which packages.
//
// Every ecosystem orders versions its own way: dpkg compares the epoch first
// and sorts "~" before everything (1.0~rc1 < 1.0), apk ranks suffixes
// (_alpha < _beta < _pre < _rc < release < _p), rpm has epochs and the "~"
// and "^" operators, Go pseudo-versions are pre-releases of the next patch,
// PEP 440 puts local labels between a release and the next one. String
// comparison gets all of these wrong, so versions are always compared with
// the ecosystem's own rules (osv-scalibr's semantic package).
//
// Matching follows OSV range semantics: a version is affected when it is at
// or above an "introduced" event and below the next "fixed" (exclusive) or at
// or below "last_affected" (inclusive), or when it is listed explicitly.
// Distro advisories are per release and written against source packages, so
// a binary package is matched through its source name and version too.
package vuln
