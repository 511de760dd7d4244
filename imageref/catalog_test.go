package imageref

import (
	"slices"
	"strings"
	"testing"
)

// nameKinds are the findings that accuse a name or a registry; a
// legitimate spelling must never get one.
var nameKinds = []string{KindTyposquatName, KindTyposquatNamespace, KindImpersonation, KindLookalikeRegistry}

func nameFindings(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if slices.Contains(nameKinds, f.Kind) || f.Kind == KindMalformed {
			out = append(out, f)
		}
	}
	return out
}

// Every official image and every publisher of the shipped catalogue, in
// every spelling that means it, is free of name findings.
func TestCatalogueHasNoFalsePositives(t *testing.T) {
	c := Default()
	if c.Officials() < 150 {
		t.Fatalf("catalogue has %d official images", c.Officials())
	}
	var refs []string
	for _, n := range c.officialOrder {
		refs = append(refs, n, n+":1", "library/"+n, "docker.io/library/"+n, "docker.io/"+n, "index.docker.io/"+n, "index.docker.io/library/"+n+"@"+dg)
	}
	for _, p := range c.pubOrder {
		ims := c.publishers[p]
		if ims == nil {
			refs = append(refs, p+"/someapp:1")
			continue
		}
		for im := range ims {
			refs = append(refs, p+"/"+im+":1", "docker.io/"+p+"/"+im)
		}
	}
	for _, host := range c.registries {
		refs = append(refs, host+"/team/app:1", host+":5000/team/app:1")
	}
	for _, s := range refs {
		if _, fs := CheckString(s, c, nil); len(nameFindings(fs)) > 0 {
			t.Errorf("%s: %+v", s, nameFindings(fs))
		}
	}
}

// Real images of real projects, most not in the catalogue: none of them is
// a look-alike of anything.
var legitimate = []string{
	"bitnami/redis", "bitnami/postgresql:16", "bitnami/kubectl:1.30", "bitnamilegacy/redis:7.2",
	"grafana/grafana", "grafana/loki:3.0.0", "grafana/alloy", "nginxinc/nginx-unprivileged",
	"prom/prometheus", "prom/node-exporter:v1.8.1", "hashicorp/terraform", "hashicorp/vault:1.17",
	"traefik/whoami", "jenkins/jenkins:lts", "jenkins/inbound-agent", "gitea/gitea:1.22",
	"drone/drone", "nextcloud/all-in-one", "mariadb/server:10.6", "nodered/node-red",
	"kindest/node:v1.30.0", "calico/node:v3.28.0", "calico/cni", "rancher/k3s:v1.30.2-k3s1",
	"openresty/openresty:alpine", "mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/aspnet:8.0",
	"mcr.microsoft.com/windows/servercore:ltsc2022", "public.ecr.aws/lambda/python:3.12",
	"public.ecr.aws/docker/library/alpine:3.20", "quay.io/keycloak/keycloak:24.0",
	"registry.access.redhat.com/ubi9/ubi-minimal", "registry.redhat.io/rhel9/postgresql-15",
	"cgr.dev/chainguard/static", "docker.elastic.co/elasticsearch/elasticsearch:8.13.0",
	"nvcr.io/nvidia/cuda:12.2.0-base-ubuntu22.04", "k8s.gcr.io/pause:3.2", "us-docker.pkg.dev/foo/bar/baz",
	"europe-west1-docker.pkg.dev/p/r/i", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
	"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", "myacr.azurecr.io/app", "lscr.io/linuxserver/sonarr",
	"registry.gitlab.com/group/proj", "ghcr.io/home-assistant/home-assistant:stable",
	"gcr.io/kaniko-project/executor:v1.23.0", "gcr.io/distroless/base-debian12", "quay.io/coreos/etcd",
	"quay.io/jetstack/cert-manager-controller", "registry.k8s.io/ingress-nginx/controller:v1.10.1",
	"amazon/aws-cli", "portainer/portainer-ce", "minio/minio", "gitlab/gitlab-runner",
	"nginx/nginx-ingress", "nginx/unit", "redislabs/redis", "redis/redis-stack", "selenium/standalone-chrome",
	"dpage/pgadmin4", "adminer", "phpmyadmin/phpmyadmin", "vaultwarden/server", "louislam/uptime-kuma",
	"zabbix/zabbix-server-mysql", "mysql/mysql-server:8.0", "envoyproxy/envoy:v1.30-latest",
	"weaveworks/weave-kube", "fluent/fluent-bit", "fluent/fluentd", "openzipkin/zipkin",
	"jaegertracing/all-in-one", "apache/kafka", "apache/airflow", "apachepulsar/pulsar", "hello-world",
	"dockur/windows", "caddy/caddy", "valkey/valkey", "emqx/emqx", "composer/composer", "rocker/r-base",
	"osrf/ros:humble-desktop", "liquibase/liquibase", "rocketchat/rocket.chat", "swiftlang/swift",
	"rustlang/rust:nightly", "getsentry/sentry", "synadia/nats-server", "clickhouse/clickhouse-server",
	"haproxytech/haproxy-alpine", "bellsoft/liberica-openjdk-debian", "azul/zulu-openjdk",
	"ghcr.io/jimmidyson/configmap-reload:v0.15.0", "quay.io/brancz/kube-rbac-proxy:v0.22.1",
	"quay.io/fluentd_elasticsearch/fluentd:v2.5.2", "registry.k8s.io/nginx-slim:0.8",
	"us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice:v0.10.6",
	"securesystemsengineering/alice-image", "my.reg/allow-me", "test", "test-image", "myapp", "app:1.0",
	"localhost:5000/app", "127.0.0.1:5000/app", "[::1]:5000/app", "harbor.example.com/team/app",
}

func TestLegitimateNamesAreNotFlagged(t *testing.T) {
	for _, s := range legitimate {
		if _, fs := CheckString(s, nil, nil); len(nameFindings(fs)) > 0 {
			t.Errorf("%s: %+v", s, nameFindings(fs))
		}
	}
}

// The images with release patterns accept their current and recent tags
// (written from the images' published tag lists), and refuse a near miss.
func TestReleasePatterns(t *testing.T) {
	good := map[string][]string{
		"alpine":          {"3.21", "3.20.3", "3.19", "3", "latest", "edge", "20240923"},
		"ubuntu":          {"24.04", "22.04", "20.04", "noble", "jammy", "focal", "noble-20240827.1", "rolling", "24.10"},
		"debian":          {"12", "12.7", "12-slim", "bookworm", "bookworm-slim", "trixie", "sid", "bullseye-20240904", "stable-slim"},
		"busybox":         {"1.36", "1.36.1", "1.37.0-musl", "glibc", "stable-uclibc", "1-glibc"},
		"node":            {"22", "22.9.0", "20-alpine", "20.17-bookworm-slim", "lts-alpine", "iron", "jod-slim", "18-alpine3.20", "current"},
		"python":          {"3.12", "3.12.6-slim-bookworm", "3.13-rc-alpine3.20", "3.11-alpine", "3", "slim", "3.13.0rc2", "3.12-windowsservercore-ltsc2022"},
		"golang":          {"1.23", "1.23.1-alpine3.20", "1.22-bookworm", "alpine", "1.24rc1"},
		"nginx":           {"1.27", "1.27.1-alpine", "1.26-alpine-slim", "stable-perl", "mainline-alpine", "1.27.1-bookworm-otel", "alpine3.20-slim"},
		"redis":           {"7", "7.4.0-alpine", "7.2-bookworm", "alpine3.20", "6.2"},
		"postgres":        {"16", "16.4", "16-alpine", "17rc1", "15.8-bookworm", "9.6"},
		"mysql":           {"8", "8.0", "8.4.2-oracle", "lts", "innovation-oraclelinux9", "9.0"},
		"mariadb":         {"11", "11.4", "10.11.9-jammy", "lts", "noble"},
		"mongo":           {"7", "7.0.14", "8.0-noble", "6.0-jammy"},
		"httpd":           {"2.4", "2.4.62-alpine", "alpine", "bookworm"},
		"php":             {"8.3", "8.3-fpm", "8.3.11-fpm-alpine3.20", "8.2-apache-bookworm", "cli", "fpm-alpine"},
		"ruby":            {"3.3", "3.3.5-slim-bookworm", "3.4.0-preview1", "alpine"},
		"rust":            {"1.81", "1.81.0-slim-bookworm", "1-alpine3.20", "slim"},
		"eclipse-temurin": {"21", "21-jre", "21.0.4_7-jdk-jammy", "17-jre-alpine", "8u422-b05-jre-noble", "jre"},
		"traefik":         {"v3.1", "3.1.4", "v2.11", "mimolette", "comte"},
		"haproxy":         {"3.0", "2.8.10-alpine", "lts-alpine", "3.1-dev7"},
		"registry":        {"2", "2.8.3", "3.0.0-rc.1"},
		"docker":          {"27", "27.3.1-dind", "dind", "cli", "27-dind-rootless", "26.1-cli-alpine3.20"},
		"fedora":          {"40", "41", "rawhide"},
		"amazonlinux":     {"2023", "2", "2023.5.20240916.0", "2.0.20240916.0"},
		"rabbitmq":        {"3.13", "3.13-management", "4.0-management-alpine", "management"},
		"memcached":       {"1.6", "1.6.31-alpine", "alpine"},
	}
	c := Default()
	for name, tags := range good {
		if c.official[name] == nil {
			t.Errorf("%s has no release pattern", name)
			continue
		}
		for _, tag := range tags {
			if _, fs := CheckString(name+":"+tag+"@"+dg, c, nil); len(fs) > 0 {
				t.Errorf("%s:%s: %+v", name, tag, fs)
			}
		}
	}
	bad := map[string]string{"alpine": "3.154", "ubuntu": "22.05", "debian": "booksworm", "node": "220", "python": "3.1234", "nginx": "1.277", "postgres": "166"}
	for name, tag := range bad {
		if _, fs := CheckString(name+":"+tag+"@"+dg, c, nil); kindsOf(fs) != KindUnknownTag {
			t.Errorf("%s:%s: %+v", name, tag, fs)
		}
	}
}

func TestLoadCatalogErrors(t *testing.T) {
	for _, y := range []string{
		"images: [{name: ''}]",
		"images: [{name: a, tags: ['(']}]",
		"images: [{name: a, tags: ['1']}, {name: a, tags: ['2']}]",
		"publishers: [{namespace: a}, {namespace: a}]",
		"generic: [nosuch]",
		"images: {",
	} {
		if _, err := LoadCatalog([]byte(y)); err == nil {
			t.Errorf("LoadCatalog(%q) accepted", y)
		}
	}
	c, err := LoadCatalog([]byte("images: [{name: acme, tags: ['v\\d+']}]\npublishers: [{namespace: acmecorp, images: [tool]}]\nregistries: [reg.example.com]"))
	if err != nil {
		t.Fatal(err)
	}
	if _, fs := CheckString("acme:v2@"+dg, c, nil); len(fs) != 0 {
		t.Errorf("acme:v2 %+v", fs)
	}
	if _, fs := CheckString("acme:2@"+dg, c, nil); kindsOf(fs) != KindUnknownTag {
		t.Errorf("acme:2 %+v", fs)
	}
	if _, fs := CheckString("acmecorp/to0l@"+dg, c, nil); kindsOf(fs) != KindTyposquatName || fs[0].Resembles != "acmecorp/tool" {
		t.Errorf("acmecorp/to0l %+v", fs)
	}
	if _, fs := CheckString("reg.exarnple.com/x@"+dg, c, nil); kindsOf(fs) != KindLookalikeRegistry || fs[0].Resembles != "reg.example.com" {
		t.Errorf("reg.exarnple.com %+v", fs)
	}
}

// The organisation's registries and approved bases: references into them
// are trusted, look-alikes of them are flagged, and the shipped catalogue
// is not changed.
func TestExtend(t *testing.T) {
	base := Default()
	c, err := base.Extend([]string{"registry.acme.corp", "docker.io/acmeinc", " Index.Docker.io/acmetools/ "},
		[]string{"registry.acme.corp/base/node:20", "harbor.acme.io/golden/python:3.12"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, kinds, res, sug string }{
		{"registry.acme.corp/anything/at-all@" + dg, "", "", ""},
		{"registry.acme.corp:443/team/app@" + dg, "", "", ""},
		{"registry.acrne.corp/team/app@" + dg, KindLookalikeRegistry, "registry.acme.corp", "registry.acme.corp/team/app@" + dg},
		{"registry.acme.corp.evil.example/team/app@" + dg, KindLookalikeRegistry, "registry.acme.corp", "registry.acme.corp/team/app@" + dg},
		{"acmeinc/builder@" + dg, "", "", ""},
		{"acmetools/lint@" + dg, "", "", ""},
		{"acmelnc/builder@" + dg, KindTyposquatNamespace, "acmeinc/builder", "acmeinc/builder@" + dg},
		{"harbor.acme.io/golden/python:3.12@" + dg, "", "", ""},
		{"harbor.acme.io/golden/pyth0n:3.12@" + dg, KindTyposquatName, "harbor.acme.io/golden/python", "harbor.acme.io/golden/python:3.12@" + dg},
		{"harbor.acme.io/golden/pythons:3.12@" + dg, KindTyposquatName, "harbor.acme.io/golden/python", "harbor.acme.io/golden/python:3.12@" + dg},
		{"harbor.acrne.io/golden/python:3.12@" + dg, KindLookalikeRegistry, "harbor.acme.io", "harbor.acme.io/golden/python:3.12@" + dg},
	}
	for _, tc := range cases {
		_, fs := CheckString(tc.in, c, nil)
		if kindsOf(fs) != tc.kinds {
			t.Errorf("%s: %q, want %q: %+v", tc.in, kindsOf(fs), tc.kinds, fs)
			continue
		}
		if len(fs) > 0 && (fs[0].Resembles != tc.res || fs[0].Suggestion != tc.sug) {
			t.Errorf("%s: %+v, want %s / %s", tc.in, fs[0], tc.res, tc.sug)
		}
	}
	// The default catalogue does not know them.
	if _, fs := CheckString("acmelnc/builder@"+dg, base, nil); len(fs) != 0 {
		t.Errorf("Extend changed the default catalogue: %+v", fs)
	}
	if _, fs := CheckString("registry.acrne.corp/team/app@"+dg, base, nil); len(fs) != 0 {
		t.Errorf("Extend changed the default catalogue: %+v", fs)
	}
	for _, bad := range [][2][]string{{{"my_reg.corp"}, nil}, {nil, {"Node:20"}}} {
		if _, err := base.Extend(bad[0], bad[1]); err == nil || !strings.Contains(err.Error(), "'_'") && !strings.Contains(err.Error(), "lowercase") {
			t.Errorf("Extend(%v) = %v", bad, err)
		}
	}
}
