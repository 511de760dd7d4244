# Every way an image reference goes wrong.
ARG BASE
ARG ALPINE=3.154

FROM ubunto:20.04 AS os
RUN apt-get update

FROM alpine:${ALPINE} AS tools
COPY --from=ghrc.io/acme/tool:1.0 /usr/bin/tool /usr/bin/tool

FROM jwi1der/nginx-proxy:1.6 AS proxy
FROM someone/ubuntu:22.04 AS fake
FROM gcr.io.evil.example/distroless/static:nonroot AS evil
FROM node:-16 AS broken
FROM $BASE AS unknown
RUN --mount=from=bussybox:1.36,source=/bin/busybox,target=/bb /bb true

FROM scratch
COPY --from=tools /usr/bin/tool /tool
