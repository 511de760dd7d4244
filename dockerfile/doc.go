// Package dockerfile finds every image a Dockerfile pulls and checks each
// reference with imageref.
//
// A Dockerfile names images in three places: FROM (one per build stage), COPY
// --from and RUN --mount=from. Each can also name an earlier stage instead of
// an image ("FROM build", "COPY --from=0"), and FROM may be "scratch", the
// empty image. References are often built from ARGs declared before the first
// FROM ("ARG GO=1.22" then "FROM golang:${GO}"), whose defaults a build can
// override with --build-arg; an ARG with neither a default nor an override
// leaves the reference unknown, which is a finding of its own because it
// cannot be checked. The file is parsed with BuildKit's own parser, so what
// is linted is what docker build would pull.
package dockerfile
