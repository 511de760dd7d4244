// Package api is Safeguard's HTTP API: a read-only JSON view of the store
// for people, dashboards and other programs, plus the operational endpoints
// a server needs (liveness, readiness, Prometheus metrics) and an OpenAPI
// 3.0 description of all of it.
//
// The nouns are the store's. An image is a platform manifest, named by its
// digest ("sha256:…"), never by a tag: a tag is a mutable pointer whose
// history the store keeps, and a tag that starts pointing at a different
// digest (a moved tag) is an event worth an alert. A referrer is an artifact
// attached to an image in the registry — a signature, an attestation, an SBOM
// — found through the OCI 1.1 referrers API or the sha256-<hex>.sig tag
// scheme. An SBOM lists an image's packages; a finding is one advisory
// affecting one package of one SBOM, and an image's trajectory is how its
// open findings changed over time and why (a new image, a new, changed or
// withdrawn advisory).
//
// Routes use the Go 1.22 http.ServeMux patterns. Every JSON endpoint lives
// under /api/v1, answers GET (and HEAD), and reports errors as
// {"error": "...", "status": N}; an unknown query parameter or a malformed
// one is a 400 that names it, an unknown id a 404. Repository names contain
// slashes, so a repository's tag history is read from
// /api/v1/repositories/{repository}/tags where {repository} is the rest of
// the path, slashes and all (docker.io/library/alpine), matched by a
// {repository...} wildcard; percent-encoded slashes work too.
//
// The API never writes to the store: it needs only the Reader interface,
// which *sqlite.Store satisfies. Routes that write (registry notifications,
// uploads) are mounted by the caller through Options.Extra and share the
// middleware: structured request logs, panic recovery, a request body limit
// and request metrics labelled by route pattern.
package api
