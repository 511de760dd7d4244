# syntax=docker/dockerfile:1.7
# A Go service: build on the build platform, cross-compile, ship on distroless.
ARG GO_VERSION=1.22.5
ARG DISTROLESS=gcr.io/distroless/static-debian12:nonroot@sha256:8dd8d3ca2cf283383304fd45a5c9c74d5f2cd9da8d3b077d720e264880077c65

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm@sha256:af9b40f2b1851be993763b85288f8434af87b5678af04355b1e33ff530b5765f AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/server ./cmd/server

FROM build AS test
RUN go test ./...

FROM ${DISTROLESS}
COPY --from=build /out/server /server
USER nonroot:nonroot
ENTRYPOINT ["/server"]
