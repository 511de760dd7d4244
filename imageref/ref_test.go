package imageref

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

const (
	dg  = "sha256:9b8f4d0a3e1c2b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0918"
	dg2 = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

// refCase is one reference with its exact expected result: the normalised
// form, or the grammar rule it breaks; then every finding kind Check gives
// with the default catalogue and no registry, in order, and the Resembles
// and Suggestion of the first finding that is not about pinning.
type refCase struct {
	in    string
	want  string // Ref.String(); "" when malformed
	rule  string // Error.Rule when malformed
	kinds string // finding kinds, space separated
	res   string
	sug   string
}

var refCases = []refCase{
	// C51: host:port is a registry only when followed by '/'.
	{in: "test.com:5000", want: "docker.io/library/test.com:5000", kinds: "unpinned"},
	{in: "localhost:5000", want: "docker.io/library/localhost:5000", kinds: "unpinned"},
	{in: "test:5000/repo:tag", want: "test:5000/repo:tag", kinds: "unpinned"},
	{in: "busybox", want: "docker.io/library/busybox:latest", kinds: "latest unpinned"},
	// C53: tag and digest; the digest is what gets resolved.
	{in: "golang:1.4.2@" + dg, want: "docker.io/library/golang:1.4.2@" + dg},
	// C55: a tag starts with a word character.
	{in: "node:-16", rule: RuleTagStart, kinds: "malformed"},
	{in: "node:.16", rule: RuleTagStart, kinds: "malformed"},
	// C56: '_' is legal in a tag (not a nginx release, but a valid reference).
	{in: "docker.io/library/nginx:v1.10_test", want: "docker.io/library/nginx:v1.10_test", kinds: "unknown-tag unpinned"},
	// C57: '_' is not legal in a host.
	{in: "my_repo:5000/repo/appname", rule: RuleHostUnderscore, kinds: "malformed"},
	// C59: short names normalise to what policies are written for.
	{in: "websphere-liberty:22.0", want: "docker.io/library/websphere-liberty:22.0", kinds: "unpinned"},
	// C74: what counts as :latest; a digest pins whatever the tag says.
	{in: "alpine", want: "docker.io/library/alpine:latest", kinds: "latest unpinned"},
	{in: "nginx:latest", want: "docker.io/library/nginx:latest", kinds: "latest unpinned"},
	{in: "busybox@" + dg, want: "docker.io/library/busybox@" + dg},
	{in: "busybox:latest@" + dg, want: "docker.io/library/busybox:latest@" + dg},
	{in: "busybox:1.33.1@" + dg, want: "docker.io/library/busybox:1.33.1@" + dg},
	{in: "registry.example.com:5000/app:1.2", want: "registry.example.com:5000/app:1.2", kinds: "unpinned"},
	// C75: look-alike registry, name, and a tag that is no release.
	{in: "ghrc.io/acme/tool:1.0", want: "ghrc.io/acme/tool:1.0", kinds: "lookalike-registry unpinned", res: "ghcr.io", sug: "ghcr.io/acme/tool:1.0"},
	{in: "ubunto:20.04", want: "docker.io/library/ubunto:20.04", kinds: "typosquat-name unpinned", res: "ubuntu", sug: "ubuntu:20.04"},
	{in: "alpine:3.154", want: "docker.io/library/alpine:3.154", kinds: "unknown-tag unpinned", res: "alpine:3.15", sug: "alpine:3.15"},

	// Malformed: each names the rule it breaks.
	{in: "", rule: RuleEmpty, kinds: "malformed"},
	{in: "ubuntu 20.04", rule: RuleWhitespace, kinds: "malformed"},
	{in: "ubuntu\t", rule: RuleWhitespace, kinds: "malformed"},
	{in: "Ubuntu", rule: RuleRepoUppercase, kinds: "malformed"},
	{in: "docker.io/Library/ubuntu", rule: RuleRepoUppercase, kinds: "malformed"},
	{in: "ghcr.io/acme/Tool:1", rule: RuleRepoUppercase, kinds: "malformed"},
	{in: "ubuntu:", rule: RuleTagEmpty, kinds: "malformed"},
	{in: "ubuntu:" + strings.Repeat("a", 129), rule: RuleTagTooLong, kinds: "malformed"},
	{in: "nginx:1.25$", rule: RuleTagChars, kinds: "malformed"},
	{in: "nginx:1.25+1", rule: RuleTagChars, kinds: "malformed"},
	{in: "ubuntu@sha256:abc", rule: RuleDigestLength, kinds: "malformed"},
	{in: "ubuntu@" + strings.ToUpper(dg), rule: RuleDigestAlgorithm, kinds: "malformed"},
	{in: "ubuntu@md5:" + dg[7:39], rule: RuleDigestAlgorithm, kinds: "malformed"},
	{in: "ubuntu@0:" + dg[7:], rule: RuleDigestFormat, kinds: "malformed"},
	{in: "ubuntu@sha512:" + dg[7:], rule: "sha512 digest must have exactly 128 hex digits", kinds: "malformed"},
	{in: "ubuntu@sha512:" + dg[7:] + dg[7:], want: "docker.io/library/ubuntu@sha512:" + dg[7:] + dg[7:]},
	{in: "ubuntu@sha256:" + strings.ToUpper(dg[7:]), rule: RuleDigestHex, kinds: "malformed"},
	{in: "ubuntu@md5", rule: RuleDigestFormat, kinds: "malformed"},
	{in: "ubuntu@", rule: RuleDigestFormat, kinds: "malformed"},
	{in: ":tag", rule: RuleMissingName, kinds: "malformed"},
	{in: "@" + dg, rule: RuleMissingName, kinds: "malformed"},
	{in: "a//b", rule: RuleRepoEmpty, kinds: "malformed"},
	{in: "/ubuntu", rule: RuleRepoEmpty, kinds: "malformed"},
	{in: "ubuntu/", rule: RuleRepoEmpty, kinds: "malformed"},
	{in: "-ubuntu", rule: RuleRepoComponent, kinds: "malformed"},
	{in: "ubuntu-", rule: RuleRepoComponent, kinds: "malformed"},
	{in: "acme/_tool", rule: RuleRepoComponent, kinds: "malformed"},
	{in: "ub..untu", rule: RuleRepoSeparators, kinds: "malformed"},
	{in: "ub___untu", rule: RuleRepoSeparators, kinds: "malformed"},
	{in: "ub.-untu", rule: RuleRepoSeparators, kinds: "malformed"},
	{in: "acme/tool!", rule: RuleRepoChars, kinds: "malformed"},
	{in: "localhost:5000:tag", rule: RuleRepoChars, kinds: "malformed"},
	{in: "gcr.io:abc/app", rule: RuleHostPort, kinds: "malformed"},
	{in: "gcr.io:/app", rule: RuleHostPort, kinds: "malformed"},
	{in: "-gcr.io/app", rule: RuleHostLabel, kinds: "malformed"},
	{in: "gcr..io/app", rule: RuleHostLabel, kinds: "malformed"},
	{in: "[::1/app", rule: RuleHostLabel, kinds: "malformed"},
	{in: "[fe80::1%eth0]/app", rule: RuleHostLabel, kinds: "malformed"},
	{in: strings.Repeat("a", 256), rule: RuleNameTooLong, kinds: "malformed"},
	{in: dg[7:], rule: RuleRepoHexIdentity, kinds: "malformed"},

	// Valid oddities of the grammar.
	{in: "ub__untu:1", want: "docker.io/library/ub__untu:1", kinds: "unpinned"},
	{in: "ub--untu:1", want: "docker.io/library/ub--untu:1", kinds: "unpinned"},
	{in: "UPPER/app:1", want: "UPPER/app:1", kinds: "unpinned"}, // an upper-case first component is a host
	{in: "nginx:LATEST", want: "docker.io/library/nginx:LATEST", kinds: "unknown-tag unpinned"},
	{in: "acme/tool:1.0@" + dg2, want: "docker.io/acme/tool:1.0@" + dg2},

	// Hosts: ports, localhost, IP literals, Docker Hub's aliases.
	{in: "localhost:5000/app", want: "localhost:5000/app:latest", kinds: "latest unpinned"},
	{in: "localhost/app:1", want: "localhost/app:1", kinds: "unpinned"},
	{in: "[::1]:5000/app:1", want: "[::1]:5000/app:1", kinds: "unpinned"},
	{in: "[2001:db8::1]/team/app:2", want: "[2001:db8::1]/team/app:2", kinds: "unpinned"},
	{in: "192.168.1.10:5000/team/app:2.0", want: "192.168.1.10:5000/team/app:2.0", kinds: "unpinned"},
	{in: "index.docker.io/ubuntu", want: "docker.io/library/ubuntu:latest", kinds: "latest unpinned"},
	{in: "registry-1.docker.io/library/ubuntu:22.04", want: "docker.io/library/ubuntu:22.04", kinds: "unpinned"},
	{in: "docker.io/ubuntu:22.04", want: "docker.io/library/ubuntu:22.04", kinds: "unpinned"},
	{in: "docker.io/library/ubuntu", want: "docker.io/library/ubuntu:latest", kinds: "latest unpinned"},
	{in: "library/ubuntu:22.04", want: "docker.io/library/ubuntu:22.04", kinds: "unpinned"},
	{in: "ubuntu", want: "docker.io/library/ubuntu:latest", kinds: "latest unpinned"},

	// Legitimate: well-known registries, publishers and less-known projects.
	{in: "ghcr.io/actions/actions-runner:2.317.0", want: "ghcr.io/actions/actions-runner:2.317.0", kinds: "unpinned"},
	{in: "quay.io/prometheus/prometheus:v2.53.0", want: "quay.io/prometheus/prometheus:v2.53.0", kinds: "unpinned"},
	{in: "registry.k8s.io/pause:3.9", want: "registry.k8s.io/pause:3.9", kinds: "unpinned"},
	{in: "gcr.io/distroless/static", want: "gcr.io/distroless/static:latest", kinds: "latest unpinned"},
	{in: "gcr.io/distroless/static-debian12:nonroot@" + dg, want: "gcr.io/distroless/static-debian12:nonroot@" + dg},
	{in: "mcr.microsoft.com/dotnet/sdk:8.0", want: "mcr.microsoft.com/dotnet/sdk:8.0", kinds: "unpinned"},
	{in: "public.ecr.aws/lambda/python:3.12", want: "public.ecr.aws/lambda/python:3.12", kinds: "unpinned"},
	{in: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", want: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", kinds: "unpinned"},
	{in: "us-docker.pkg.dev/proj/repo/img:1", want: "us-docker.pkg.dev/proj/repo/img:1", kinds: "unpinned"},
	{in: "cgr.dev/chainguard/static:latest", want: "cgr.dev/chainguard/static:latest", kinds: "latest unpinned"},
	{in: "mirror.gcr.io/library/alpine:3.20", want: "mirror.gcr.io/library/alpine:3.20", kinds: "unpinned"},
	{in: "bitnami/redis:7.2", want: "docker.io/bitnami/redis:7.2", kinds: "unpinned"},
	{in: "grafana/grafana:11.0.0", want: "docker.io/grafana/grafana:11.0.0", kinds: "unpinned"},
	{in: "nginxinc/nginx-unprivileged:1.27-alpine", want: "docker.io/nginxinc/nginx-unprivileged:1.27-alpine", kinds: "unpinned"},
	{in: "jwilder/nginx-proxy:1.6", want: "docker.io/jwilder/nginx-proxy:1.6", kinds: "unpinned"},
	{in: "kindest/node:v1.30.0", want: "docker.io/kindest/node:v1.30.0", kinds: "unpinned"},
	{in: "calico/node:v3.28.0", want: "docker.io/calico/node:v3.28.0", kinds: "unpinned"},
	{in: "redislabs/redis:7.4", want: "docker.io/redislabs/redis:7.4", kinds: "unpinned"},
	{in: "dockur/windows:4", want: "docker.io/dockur/windows:4", kinds: "unpinned"},
	{in: "someorg/registry:2", want: "docker.io/someorg/registry:2", kinds: "unpinned"}, // an everyday official name
	{in: "mysql:8", want: "docker.io/library/mysql:8", kinds: "unpinned"},
	{in: "redis:alpine", want: "docker.io/library/redis:alpine", kinds: "unpinned"},
	{in: "perl:5.34.0", want: "docker.io/library/perl:5.34.0", kinds: "unpinned"},
	{in: "node:20-alpine", want: "docker.io/library/node:20-alpine", kinds: "unpinned"},
	{in: "python:3.12-slim-bookworm", want: "docker.io/library/python:3.12-slim-bookworm", kinds: "unpinned"},
	{in: "golang:1.22-alpine3.20", want: "docker.io/library/golang:1.22-alpine3.20", kinds: "unpinned"},
	{in: "debian:bookworm-slim", want: "docker.io/library/debian:bookworm-slim", kinds: "unpinned"},
	{in: "nginx:1.27.0-alpine", want: "docker.io/library/nginx:1.27.0-alpine", kinds: "unpinned"},
	{in: "postgres:16.3-alpine3.20", want: "docker.io/library/postgres:16.3-alpine3.20", kinds: "unpinned"},
	{in: "eclipse-temurin:21-jre-jammy", want: "docker.io/library/eclipse-temurin:21-jre-jammy", kinds: "unpinned"},
	{in: "ubuntu:noble-20240530", want: "docker.io/library/ubuntu:noble-20240530", kinds: "unpinned"},
	{in: "rust:1.79-slim-bookworm", want: "docker.io/library/rust:1.79-slim-bookworm", kinds: "unpinned"},
	{in: "alpine:3.19.1", want: "docker.io/library/alpine:3.19.1", kinds: "unpinned"},
	{in: "alpine:edge", want: "docker.io/library/alpine:edge", kinds: "unpinned"},
	{in: "alpine:20240606", want: "docker.io/library/alpine:20240606", kinds: "unpinned"},

	// Look-alike names on Docker Hub.
	{in: "ngnix:1.25", want: "docker.io/library/ngnix:1.25", kinds: "typosquat-name unpinned", res: "nginx", sug: "nginx:1.25"},
	{in: "pyhton:3.12", want: "docker.io/library/pyhton:3.12", kinds: "typosquat-name unpinned", res: "python", sug: "python:3.12"},
	{in: "debain:12", want: "docker.io/library/debain:12", kinds: "typosquat-name unpinned", res: "debian", sug: "debian:12"},
	{in: "bussybox:1.36", want: "docker.io/library/bussybox:1.36", kinds: "typosquat-name unpinned", res: "busybox", sug: "busybox:1.36"},
	{in: "postgress:16", want: "docker.io/library/postgress:16", kinds: "typosquat-name unpinned", res: "postgres", sug: "postgres:16"},
	{in: "alpline:3.20", want: "docker.io/library/alpline:3.20", kinds: "typosquat-name unpinned", res: "alpine", sug: "alpine:3.20"},
	{in: "alp1ne:3.19", want: "docker.io/library/alp1ne:3.19", kinds: "typosquat-name unpinned", res: "alpine", sug: "alpine:3.19"},
	{in: "mysq1:8", want: "docker.io/library/mysq1:8", kinds: "typosquat-name unpinned", res: "mysql", sug: "mysql:8"},
	{in: "rnysql:8", want: "docker.io/library/rnysql:8", kinds: "typosquat-name unpinned", res: "mysql", sug: "mysql:8"},
	{in: "ng1nx", want: "docker.io/library/ng1nx:latest", kinds: "typosquat-name latest unpinned", res: "nginx", sug: "nginx"},
	{in: "ubunto@" + dg, want: "docker.io/library/ubunto@" + dg, kinds: "typosquat-name", res: "ubuntu", sug: "ubuntu@" + dg},
	{in: "jwi1der/nginx-proxy", want: "docker.io/jwi1der/nginx-proxy:latest", kinds: "typosquat-namespace latest unpinned", res: "jwilder/nginx-proxy", sug: "jwilder/nginx-proxy"},
	{in: "libary/ubuntu:22.04", want: "docker.io/libary/ubuntu:22.04", kinds: "typosquat-namespace unpinned", res: "ubuntu", sug: "ubuntu:22.04"},
	{in: "bitnarni/redis:7", want: "docker.io/bitnarni/redis:7", kinds: "typosquat-namespace unpinned", res: "bitnami/redis", sug: "bitnami/redis:7"},
	{in: "bitnami/reddis:7", want: "docker.io/bitnami/reddis:7", kinds: "typosquat-name unpinned", res: "bitnami/redis", sug: "bitnami/redis:7"},
	{in: "grafana/grafna:11", want: "docker.io/grafana/grafna:11", kinds: "typosquat-name unpinned", res: "grafana/grafana", sug: "grafana/grafana:11"},
	{in: "hashicorp/terrafrom:1.9", want: "docker.io/hashicorp/terrafrom:1.9", kinds: "typosquat-name unpinned", res: "hashicorp/terraform", sug: "hashicorp/terraform:1.9"},
	{in: "someone/ubuntu:22.04", want: "docker.io/someone/ubuntu:22.04", kinds: "impersonation unpinned", res: "ubuntu", sug: "ubuntu:22.04"},
	{in: "docker.io/evil/nginx:1.27", want: "docker.io/evil/nginx:1.27", kinds: "impersonation unpinned", res: "nginx", sug: "nginx:1.27"},
	{in: "evil/node:20", want: "docker.io/evil/node:20", kinds: "impersonation unpinned", res: "node", sug: "node:20"},
	{in: "someone/alp1ne:3.19", want: "docker.io/someone/alp1ne:3.19", kinds: "impersonation unpinned", res: "alpine", sug: "alpine:3.19"},

	// Look-alike registries.
	{in: "gcr.io.evil.example/distroless/static:nonroot", want: "gcr.io.evil.example/distroless/static:nonroot", kinds: "lookalike-registry unpinned", res: "gcr.io", sug: "gcr.io/distroless/static:nonroot"},
	{in: "docker.io.evil.example/library/ubuntu:22.04", want: "docker.io.evil.example/library/ubuntu:22.04", kinds: "lookalike-registry unpinned", res: "docker.io", sug: "ubuntu:22.04"},
	{in: "ghcr.io-mirror.example/acme/tool:1", want: "ghcr.io-mirror.example/acme/tool:1", kinds: "lookalike-registry unpinned", res: "ghcr.io", sug: "ghcr.io/acme/tool:1"},
	{in: "qauy.io/prometheus/prometheus:v2.53.0", want: "qauy.io/prometheus/prometheus:v2.53.0", kinds: "lookalike-registry unpinned", res: "quay.io", sug: "quay.io/prometheus/prometheus:v2.53.0"},
	{in: "regsitry.k8s.io/pause:3.9", want: "regsitry.k8s.io/pause:3.9", kinds: "lookalike-registry unpinned", res: "registry.k8s.io", sug: "registry.k8s.io/pause:3.9"},
	{in: "gcr.lo/distroless/static:nonroot", want: "gcr.lo/distroless/static:nonroot", kinds: "lookalike-registry unpinned", res: "gcr.io", sug: "gcr.io/distroless/static:nonroot"},
	{in: "ghcr.io.evil:5000/acme/tool@" + dg, want: "ghcr.io.evil:5000/acme/tool@" + dg, kinds: "lookalike-registry", res: "ghcr.io", sug: "ghcr.io/acme/tool@" + dg},

	// Tags that are no release of a known image.
	{in: "python:3.154", want: "docker.io/library/python:3.154", kinds: "unknown-tag unpinned", res: "python:3.15", sug: "python:3.15"},
	{in: "alpine:4.0", want: "docker.io/library/alpine:4.0", kinds: "unknown-tag unpinned"},
	{in: "ubuntu:20.4", want: "docker.io/library/ubuntu:20.4", kinds: "unknown-tag unpinned"},
	{in: "node:2O", want: "docker.io/library/node:2O", kinds: "unknown-tag unpinned", res: "node:20", sug: "node:20"},
	{in: "alpine:3.154@" + dg, want: "docker.io/library/alpine:3.154@" + dg, kinds: "unknown-tag", res: "alpine:3.15", sug: "alpine:3.15@" + dg},
	// A port no client can dial: the grammar accepts it, Parse does not.
	{in: "localhost:99999/app:1", rule: RuleHostPortRange, kinds: "malformed"},
	{in: "registry.example.com:65536/app:1", rule: RuleHostPortRange, kinds: "malformed"},
	{in: "localhost:0/app:1", rule: RuleHostPortRange, kinds: "malformed"},
	{in: "[::1]:70000/app:1", rule: RuleHostPortRange, kinds: "malformed"},
	{in: "localhost:99999999999999999999/app", rule: RuleHostPortRange, kinds: "malformed"},
	// Docker Hub's other host names, extended into another domain.
	{in: "index.docker.io.evil.example/ubuntu:22.04", want: "index.docker.io.evil.example/ubuntu:22.04", kinds: "lookalike-registry unpinned", res: "index.docker.io", sug: "ubuntu:22.04"},
	{in: "registry-1.docker.io-mirror.example/library/nginx:1.27", want: "registry-1.docker.io-mirror.example/library/nginx:1.27", kinds: "lookalike-registry unpinned", res: "registry-1.docker.io", sug: "nginx:1.27"},
	// Internationalised hosts whose letters from other scripts read as a
	// well-known registry (gһcr.io, quаy.io, dосker.io, gсr.io, ghcr.іo).
	{in: "xn--gcr-2sd.io/acme/tool:1.0", want: "xn--gcr-2sd.io/acme/tool:1.0", kinds: "lookalike-registry unpinned", res: "ghcr.io", sug: "ghcr.io/acme/tool:1.0"},
	{in: "xn--quy-7cd.io/prometheus/prometheus:v2.53.0", want: "xn--quy-7cd.io/prometheus/prometheus:v2.53.0", kinds: "lookalike-registry unpinned", res: "quay.io", sug: "quay.io/prometheus/prometheus:v2.53.0"},
	{in: "xn--dker-55ds.io/library/ubuntu:22.04", want: "xn--dker-55ds.io/library/ubuntu:22.04", kinds: "lookalike-registry unpinned", res: "docker.io", sug: "ubuntu:22.04"},
	{in: "xn--gr-omc.io/distroless/static:nonroot", want: "xn--gr-omc.io/distroless/static:nonroot", kinds: "lookalike-registry unpinned", res: "gcr.io", sug: "gcr.io/distroless/static:nonroot"},
	{in: "ghcr.xn--o-evb/acme/tool:1.0", want: "ghcr.xn--o-evb/acme/tool:1.0", kinds: "lookalike-registry unpinned", res: "ghcr.io", sug: "ghcr.io/acme/tool:1.0"},
	// An internationalised host that resembles nothing is only a host.
	{in: "xn--mnchen-3ya.example/team/app:1.0", want: "xn--mnchen-3ya.example/team/app:1.0", kinds: "unpinned"},
}

func kindsOf(fs []Finding) string {
	k := make([]string, len(fs))
	for i, f := range fs {
		k[i] = f.Kind
	}
	return strings.Join(k, " ")
}

func TestReferenceTable(t *testing.T) {
	if len(refCases) < 100 {
		t.Fatalf("table has %d references, want at least 100", len(refCases))
	}
	for _, c := range refCases {
		t.Run(c.in, func(t *testing.T) {
			ref, err := Parse(c.in)
			if c.rule != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Parse(%q) = %v, %v; want error %q", c.in, ref, err, c.rule)
				}
				if e.Rule != c.rule {
					t.Fatalf("Parse(%q) rule %q, want %q", c.in, e.Rule, c.rule)
				}
			} else {
				if err != nil {
					t.Fatalf("Parse(%q): %v", c.in, err)
				}
				if got := ref.String(); got != c.want {
					t.Fatalf("Parse(%q) = %s, want %s", c.in, got, c.want)
				}
			}
			_, fs := CheckString(c.in, nil, nil)
			if got := kindsOf(fs); got != c.kinds {
				t.Fatalf("findings %q, want %q: %+v", got, c.kinds, fs)
			}
			for _, f := range fs {
				if f.Message == "" {
					t.Errorf("finding without a message: %+v", f)
				}
				if f.Kind == KindUnpinned || f.Kind == KindLatest || f.Kind == KindMalformed {
					continue
				}
				if f.Resembles != c.res || f.Suggestion != c.sug {
					t.Errorf("%s: resembles %q, suggestion %q; want %q, %q (%s)", f.Kind, f.Resembles, f.Suggestion, c.res, c.sug, f.Message)
				}
				if c.res != "" && !strings.Contains(f.Message, strings.SplitN(c.res, ":", 2)[0]) {
					t.Errorf("message does not say what it resembles: %s", f.Message)
				}
				break
			}
			if c.rule != "" && !strings.Contains(fs[0].Message, c.rule) {
				t.Errorf("malformed finding does not name the rule: %s", fs[0].Message)
			}
		})
	}
}

// C53, C59, C74: the parts, not only the string.
func TestParseParts(t *testing.T) {
	r := MustParse("golang:1.4.2@" + dg)
	if r.Registry != "docker.io" || r.Repository != "library/golang" || r.Tag != "1.4.2" || r.Digest != dg || !r.Pinned() || r.ImplicitLatest {
		t.Errorf("tag+digest: %+v", r)
	}
	if got := r.Familiar(); got != "golang:1.4.2@"+dg {
		t.Errorf("familiar %s", got)
	}
	r = MustParse("test:5000/repo:tag")
	if r.Registry != "test:5000" || r.Repository != "repo" || r.Tag != "tag" {
		t.Errorf("test:5000/repo:tag: %+v", r)
	}
	r = MustParse("test.com:5000")
	if r.Registry != "docker.io" || r.Repository != "library/test.com" || r.Tag != "5000" {
		t.Errorf("test.com:5000: %+v", r)
	}
	r = MustParse("registry.example.com:5000/app:1.2")
	if r.Registry != "registry.example.com:5000" || r.Tag != "1.2" || r.Pinned() {
		t.Errorf("port is not a tag: %+v", r)
	}
	r = MustParse("alpine")
	if !r.ImplicitLatest || r.Tag != "latest" || r.Familiar() != "alpine" {
		t.Errorf("implicit latest: %+v", r)
	}
	r = MustParse("docker.io/library/nginx:v1.10_test")
	if r.Tag != "v1.10_test" {
		t.Errorf("C56 tag %q", r.Tag)
	}
	// C59: a policy written for the full name matches the short name.
	if a, b := MustParse("websphere-liberty:22.0").Name(), MustParse("docker.io/library/websphere-liberty:22.0").Name(); a != b {
		t.Errorf("C59: %s != %s", a, b)
	}
	if !MustParse("ubuntu").Official() || MustParse("someone/ubuntu").Official() || MustParse("ghcr.io/library/ubuntu").Official() {
		t.Error("Official")
	}
}

// Parse agrees with github.com/distribution/reference on what is valid and
// on the normalised name, over the table and over generated references.
// Known, deliberate differences: registry-1.docker.io is normalised to
// docker.io (distribution keeps it).
func TestParseAgreesWithDistribution(t *testing.T) {
	valid, invalid := 0, 0
	check := func(s string) {
		t.Helper()
		ours, err := Parse(s)
		theirs, terr := reference.ParseNormalizedNamed(s)
		if err == nil {
			valid++
		} else {
			invalid++
		}
		if (err == nil) != (terr == nil) && !stricterThanDistribution(err) {
			t.Errorf("%q: ours %v, distribution %v", s, err, terr)
			return
		}
		if err != nil {
			return
		}
		want := reference.TagNameOnly(theirs).String()
		got := ours.String()
		if strings.HasPrefix(s, "registry-1.docker.io/") {
			got = strings.Replace(got, "docker.io/", "registry-1.docker.io/", 1)
		}
		if got != want {
			t.Errorf("%q: ours %s, distribution %s", s, got, want)
		}
	}
	for _, c := range refCases {
		check(c.in)
	}
	// Generated references over the characters that matter to the grammar.
	alphabet := "ab0:/.-_@A"
	parts := []string{"", "a", "b0", "a.b", "a-b", "a__b", "A", "1", "localhost", "x:5", "[::1]", "sha256:" + dg[7:]}
	var buf strings.Builder
	seed := uint32(1)
	next := func(n int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>8) % n
	}
	for i := 0; i < 20000; i++ {
		buf.Reset()
		for j := 0; j < 1+next(5); j++ {
			if next(3) == 0 {
				buf.WriteByte(alphabet[next(len(alphabet))])
			} else {
				buf.WriteString(parts[next(len(parts))])
			}
		}
		check(buf.String())
	}
	// The generator must exercise both sides of the grammar.
	if valid < 2000 || invalid < 2000 {
		t.Errorf("generated %d valid and %d invalid references; the comparison is too one-sided", valid, invalid)
	}
}

// The pin suggestions of a look-alike pin the reference meant, not the
// look-alike.
func TestPinSuggestionsUseTheIntendedName(t *testing.T) {
	for in, want := range map[string][2]string{
		"ubunto:20.04":        {"", "ubuntu:20.04@sha256:<digest>"},
		"jwi1der/nginx-proxy": {"jwilder/nginx-proxy:<release>@sha256:<digest>", "jwilder/nginx-proxy@sha256:<digest>"},
		"ghrc.io/acme/tool":   {"ghcr.io/acme/tool:<release>@sha256:<digest>", "ghcr.io/acme/tool@sha256:<digest>"},
		"alpine:3.154":        {"", "alpine:3.15@sha256:<digest>"},
		"alpine":              {"alpine:<release>@sha256:<digest>", "alpine@sha256:<digest>"},
	} {
		_, fs := CheckString(in, nil, nil)
		var latest, unpinned string
		for _, f := range fs {
			switch f.Kind {
			case KindLatest:
				latest = f.Suggestion
			case KindUnpinned:
				unpinned = f.Suggestion
			}
		}
		if latest != want[0] || unpinned != want[1] {
			t.Errorf("%s: latest %q, unpinned %q; want %q, %q", in, latest, unpinned, want[0], want[1])
		}
	}
}

// stricterThanDistribution reports whether err is one of the rules Parse
// adds to the distribution grammar: a reference the grammar accepts but no
// client can pull (a registry port outside 1–65535).
func stricterThanDistribution(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Rule == RuleHostPortRange
}
