package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// fiftyStages is a generated 50-stage Dockerfile: global ARGs, a mix of
// official images, publishers, other registries, stage bases, COPY --from
// of images and stages, and a few typosquats.
func fiftyStages() []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\nARG GO=1.22\nARG ALPINE=3.20\nARG REG=ghcr.io/acme\n")
	bases := []string{"golang:${GO}-alpine", "alpine:${ALPINE}", "node:20-bookworm-slim", "python:3.12-slim" + pin,
		"${REG}/builder:1.4", "gcr.io/distroless/static-debian12:nonroot", "bitnami/redis:7.2", "ubunto:22.04", "debian:bookworm-slim"}
	for i := 0; i < 50; i++ {
		switch {
		case i > 0 && i%7 == 0:
			fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM s%d AS s%d\n", i-1, i)
		default:
			fmt.Fprintf(&b, "FROM %s AS s%d\n", bases[i%len(bases)], i)
		}
		fmt.Fprintf(&b, "WORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache make -j2 stage%d\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "COPY --from=s%d /out /in\n", i-1)
		}
		if i%10 == 5 {
			b.WriteString("COPY --from=ghrc.io/acme/tool:1.0 /tool /usr/local/bin/tool\n")
		}
	}
	return []byte(b.String())
}

func TestFiftyStages(t *testing.T) {
	r, err := Lint("Dockerfile", fiftyStages(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stages != 50 || r.References != 50-7+5 {
		t.Errorf("stages %d references %d", r.Stages, r.References)
	}
}

// BenchmarkLint50Stages: parse and check a 50-stage Dockerfile (target < 10 ms).
func BenchmarkLint50Stages(b *testing.B) {
	data := fiftyStages()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Lint("Dockerfile", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
