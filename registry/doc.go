// Package registry crawls container registries over the OCI distribution
// API (with go-containerregistry) and records what it finds in the
// inventory: images, tags and their history, and attached artifacts.
//
// The words, briefly:
//
//   - A digest ("sha256:…") names content: the hash of a manifest or blob.
//     Content behind a digest never changes, so a digest already in the
//     inventory is never fetched again.
//   - A tag ("latest", "1.4") is a mutable name for a digest. The crawler
//     resolves each tag with one HEAD request; a tag still pointing where it
//     did costs nothing more. A tag that now points elsewhere has moved —
//     recorded as an event and posted to the registry's notify URLs.
//   - An index (OCI image index, Docker manifest list) is a manifest listing
//     one image manifest per platform (linux/amd64, linux/arm64, …). It is
//     expanded into one inventoried image per platform; BuildKit's
//     unknown/unknown attestation manifests in it are read as referrers of
//     the image they name.
//   - A referrer is an artifact whose manifest names another manifest as
//     its subject: a signature, an attestation, an SBOM. Referrers are found
//     through the OCI 1.1 referrers API, the sha256-<hex> referrers tag, and
//     cosign's sha256-<hex>.sig|.att|.sbom tags (which are not images). SBOMs
//     among them — plain, or in in-toto attestations inside DSSE envelopes —
//     are handed to an SBOMSink; signatures and attestations are recorded
//     with their annotations for later verification.
//
// Crawls are incremental and crash-safe: each image is recorded as soon as
// it (and its referrers) is processed, and a tag only after its image, so a
// crawl that dies midway leaves consistent state and the next one finishes
// the work. Transient failures (429 with Retry-After, 5xx, connection
// resets, bodies cut short) are retried under a RetryPolicy with a budget
// per request and per crawl; one failing repository does not stop the
// others.
//
// Push notifications (CNCF distribution envelopes, Harbor webhooks) are
// accepted by NotificationHandler, which triggers a crawl of the pushed
// repository.
package registry
