// Package imageref parses and normalises container image references and
// checks them for the mistakes attackers count on.
//
// A reference is [registry[:port]/]repository[:tag][@digest]. The grammar is
// the distribution project's: the first path component is a registry only
// when it has a '.' or a ':' or is "localhost" (so "test.com:5000" is the
// image test.com with tag 5000), a missing registry is Docker Hub
// ("docker.io"), a one-component name on Docker Hub is an official image
// under "library/", tags are [\w][\w.-]{0,127}, and repositories are
// lowercase. A tag names content that can change; a digest names content that
// cannot, so with both the digest is what runs.
//
// Typosquatting registers a name one slip away from a popular one (ubunto,
// alp1ne, jwi1der/nginx-proxy, ghrc.io) or puts a popular name under another
// account (someone/ubuntu). Check compares a reference with a catalogue of
// well-known images, publishers and registries (catalog/catalog.yaml,
// extended with the organisation's own) by edit distance, keyboard
// neighbours and homoglyphs, and checks the tag against the registry's tag
// list or, offline, the catalogue's release patterns (alpine:3.154 is no
// alpine release). Each finding says what it resembles and suggests the
// reference probably meant.
package imageref
