// Package baseimage attributes every image to its base image, and that base
// to its own base: image → base → base's base, with how each link was found
// and how sure it is.
//
// # Diff IDs
//
// An image's config lists rootfs.diff_ids: the sha256 of each layer's
// uncompressed tar, bottom layer first. Unlike the layer (blob) digests in
// the manifest, a diff ID does not depend on how the layer was compressed,
// so the same layer pushed again by another tool, or recompressed by a
// mirror, keeps its diff ID. A Dockerfile build starts from the base's
// rootfs and stacks its own layers on top, so the base's diff IDs are,
// verbatim, the first diff IDs of every image built FROM it.
//
// # Why the longest prefix is the base
//
// If node:20 is built FROM debian:bookworm and app is built FROM node:20,
// then debian's diff IDs are a prefix of node's, and node's a prefix of
// app's. Both debian and node are prefixes of app; the nearer base is the
// one that explains more of the image, the longest proper prefix. Equal
// lists are not a base relation: they are the same content, a re-push or a
// copy under another name (Link.Identical). A squashed image (everything in
// one layer) shares no prefix with anything and has no attributable base.
//
// # Sources, best first
//
//  1. OCI annotations org.opencontainers.image.base.digest (and .base.name),
//     written by the builder: "certain" when the digest is catalogued and its
//     layers really are a prefix of the image's, "high" when it cannot be
//     checked (base not catalogued), "guess" when the layers contradict it.
//  2. SLSA provenance materials that are container images pinned by digest:
//     "high" (a multi-stage build lists its builder images too, so the one
//     whose layers are a prefix wins; several unverifiable ones are
//     "ambiguous").
//  3. Layer matching against the catalogue: "high" for a unique longest
//     prefix, or for a tie among identical copies that is broken by
//     preference (a candidate from a configured base repository) or by
//     first sighting (the original is seen before its copies); "ambiguous"
//     when the tie cannot be broken. Copies are always listed in
//     Alternatives — the decision is to show them, never to hide them.
//
// The tag reported for a base is the one it carried when the image was
// built (the tag-history stretch containing the image's creation time, else
// the last one before it), so node:latest of last March is told apart from
// today's node:latest. Outdated compares that tag with where it points now.
//
// Layer matching goes through an index by top diff ID: a base with k
// layers has the image's k-th diff ID on top, so the longest prefix is
// found with at most one lookup per layer of the image, however many
// catalogued images share its bottom layer (every Debian-based image shares
// Debian's). The index by first diff ID serves annotations naming a tag.
//
// # Copies and originals
//
// The same digest under another name is the same image (a byte-identical
// re-push): it is never its own base, and an image built on it is
// attributed to the catalogue entry, with the copy listed. Different
// digests with the same layers are a copy and its original: the copy
// points at the original when the original is known to be first (from a
// configured base repository, or seen earlier), never the other way; when
// neither is known, the link is ambiguous.
//
// # Refresh
//
// After each crawl Refresh rebuilds the catalogue from every stored image
// (base repositories preferred), attributes every image again and writes
// only the chains that changed, so new images and images whose answer the
// crawl changed (a base arrived, a tag moved) are updated by one pass.
package baseimage
