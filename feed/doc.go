// Package feed reads vulnerability feeds — OSV advisories, the CISA Known
// Exploited Vulnerabilities catalog and FIRST EPSS scores — from local files,
// archives and HTTP downloads, validates them and derives severities.
//
// The package only parses: it returns a Batch and writes nothing anywhere, so
// a caller can validate a whole import before touching its store. That is
// also why any bad record fails the whole Load: a half-read feed must never
// be mistaken for a complete one (a withdrawn or missing record would then
// look like a deletion).
//
// Formats are recognised from content (magic bytes and JSON shape), never
// from file names, because feeds are renamed, mirrored and re-compressed in
// the wild. Archive and download handling assumes hostile input: sizes are
// enforced while reading rather than trusted from headers, entry names are
// checked for traversal, and only regular files are read.
package feed
