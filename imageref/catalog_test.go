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
	for host, nss := range c.hostNamespaces {
		for _, ns := range nss {
			refs = append(refs, host+"/"+ns.name+"/app:1")
		}
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

// Real references from Dockerfiles, compose files and manifests, with real
// tags: no name finding and no unknown tag.
var realReferences = []string{
	"mcr.microsoft.com/dotnet/runtime:8.0", "mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine", "mcr.microsoft.com/powershell", "mcr.microsoft.com/playwright:v1.45.0-jammy", "mcr.microsoft.com/devcontainers/base:ubuntu",
	"mcr.microsoft.com/mssql/server:2022-latest", "openjdk:17-jdk-slim", "openjdk:8-jre-alpine", "maven:3.9-eclipse-temurin-21", "gradle:8.8-jdk21",
	"tomcat:10.1-jdk17", "amazoncorretto:21-alpine", "ibm-semeru-runtimes:open-21-jre", "sapmachine:21", "node:18",
	"node:lts-alpine", "node:22-alpine3.20", "node:20.15.0-bullseye-slim", "python:3.9", "python:3.11-slim-buster",
	"python:3.10-alpine3.18", "python:3-alpine", "golang:1.21", "golang:1.23-bookworm", "golang:alpine3.20",
	"golang:1.22.5", "ruby:3.2-slim", "ruby:2.7", "php:7.4-apache", "php:8.1-fpm-alpine",
	"composer:2", "rust:latest", "rust:1.80-alpine", "gcc:13", "buildpack-deps:bookworm",
	"debian:11", "debian:buster-slim", "debian:stable-slim", "ubuntu:18.04", "ubuntu:24.04",
	"ubuntu:jammy-20240627.1", "centos:7", "centos:centos7", "rockylinux:9", "almalinux:9-minimal",
	"fedora:39", "amazonlinux:2023", "oraclelinux:8-slim", "alpine:latest", "alpine:3.18.6",
	"busybox:stable", "busybox:1.36.1-musl", "nginx:stable-alpine", "nginx:mainline", "nginx:1.25.5",
	"httpd:2.4-alpine", "haproxy:2.9", "traefik:v2.10", "caddy:2-alpine", "redis:7-alpine",
	"redis:6.2.14", "memcached:1.6-alpine", "postgres:15-bookworm", "mysql:5.7", "mariadb:10.6",
	"mongo:6.0", "rabbitmq:3-management-alpine", "elasticsearch:8.14.1", "kibana:8.14.1", "logstash:8.14.1",
	"docker:24-dind", "docker:cli", "docker:27.0.3-dind-alpine3.20", "registry:2.8", "sonarqube:community",
	"jenkins/jenkins:lts-jdk17", "gitlab/gitlab-ce:latest", "hashicorp/packer:1.11", "hashicorp/consul:1.19", "vault:1.13.3",
	"consul:1.15", "ghcr.io/astral-sh/uv:0.2.24", "ghcr.io/goreleaser/goreleaser:v2.0.0", "ghcr.io/hadolint/hadolint", "quay.io/argoproj/argocd:v2.11.3",
	"quay.io/cilium/cilium:v1.15.6", "quay.io/minio/minio", "docker.io/bitnami/minio:2024", "docker.io/rancher/rancher:v2.8.5", "rancher/mirrored-pause:3.6",
	"registry.k8s.io/kube-apiserver:v1.30.2", "registry.k8s.io/coredns/coredns:v1.11.1", "registry.k8s.io/etcd:3.5.12-0", "gcr.io/google-containers/pause:3.2", "gcr.io/cadvisor/cadvisor:v0.49.1",
	"gcr.io/k8s-minikube/kicbase:v0.0.44", "eu.gcr.io/proj/app", "asia.gcr.io/proj/app", "us.gcr.io/proj/app", "public.ecr.aws/amazonlinux/amazonlinux:2023",
	"public.ecr.aws/docker/library/node:20", "amazon/aws-lambda-python:3.12", "amazon/dynamodb-local", "circleci/node:16", "cimg/base:2024.06",
	"cimg/go:1.22", "cimg/python:3.12", "cypress/included:13.13.0", "cypress/base:20.14.0", "mcr.microsoft.com/playwright/python",
	"selenium/hub:4.22", "selenium/node-chrome:4.22", "timberio/vector:0.39.0-debian", "getsentry/sentry:24.6.0", "sentry:9.1.2",
	"plausible/analytics:v2.0", "mattermost/mattermost-team-edition", "metabase/metabase:v0.50.9", "n8nio/n8n:1.48.0", "ollama/ollama",
	"openwebui/open-webui", "ghcr.io/open-webui/open-webui:main", "pihole/pihole:2024.06.0", "linuxserver/plex", "jellyfin/jellyfin:10.9.7",
	"photoprism/photoprism", "immich-app/immich-server", "ghcr.io/immich-app/immich-server:v1.106.4", "jupyter/scipy-notebook", "quay.io/jupyter/base-notebook",
	"tensorflow/tensorflow:2.16.1-gpu", "pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime", "nvidia/cuda:12.5.0-runtime-ubuntu22.04", "huggingface/transformers-pytorch-gpu", "postgis/postgis:16-3.4",
	"timescale/timescaledb:latest-pg16", "supabase/postgres:15.1.1.78", "bitnami/postgresql-repmgr", "confluentinc/cp-kafka:7.6.1", "wurstmeister/kafka",
	"apache/kafka:3.7.0", "bitnami/kafka:3.7", "redpandadata/redpanda:v24.1.8", "eclipse-mosquitto:2.0", "emqx:5.7",
	"nats:2.10-alpine", "valkey/valkey:7.2", "eqalpha/keydb", "influxdb:2.7", "telegraf:1.31",
	"grafana/grafana-oss:11.1.0", "prom/alertmanager:v0.27.0", "prom/pushgateway", "otel/opentelemetry-collector-contrib:0.104.0", "jaegertracing/jaeger:1.58",
	"openzipkin/zipkin-slim", "fluent/fluent-bit:3.0", "fluentd:v1.17-1", "datadog/agent:7", "newrelic/infrastructure",
	"portainer/agent:2.20.3", "containrrr/watchtower", "louislam/uptime-kuma:1", "nginxproxy/nginx-proxy:1.6", "nginxproxy/acme-companion",
	"jc21/nginx-proxy-manager:latest", "traefik:v3.0", "envoyproxy/envoy:v1.30.2", "kong:3.7", "kong/kong-gateway:3.7",
	"minio/mc", "hashicorp/terraform:1.9", "alpine/git:2.45.2", "alpine/helm:3.15.2", "bitnami/kubectl:latest",
	"lachlanevenson/k8s-kubectl", "curlimages/curl:8.8.0", "busybox:musl", "nicolaka/netshoot", "mikefarah/yq:4",
	"stedolan/jq", "hadolint/hadolint:v2.12.0", "koalaman/shellcheck-alpine", "aquasec/trivy:0.53.0", "anchore/syft:v1.8.0",
	"anchore/grype:v0.79.1", "golangci/golangci-lint:v1.59.1", "goreleaser/goreleaser:v2.0.1", "sonarsource/sonar-scanner-cli:10", "docker/dockerfile:1.7",
	"docker/buildx-bin:0.15", "moby/buildkit:v0.14.1", "docker/compose:1.29.2", "tonistiigi/binfmt", "gitea/gitea:1.22",
	"gitea/act_runner", "gogs/gogs", "drone/drone-runner-docker", "woodpeckerci/woodpecker-server", "atlassian/jira-software",
	"atlassian/confluence", "sonatype/nexus3:3.70.1", "jfrog/artifactory-oss", "goharbor/harbor-core", "keycloak/keycloak:25.0",
	"quay.io/keycloak/keycloak:25.0.1", "bitnami/keycloak", "osixia/openldap:1.5.0", "dexidp/dex", "vaultwarden/server:1.30.5",
	"bitwarden/self-host", "authelia/authelia:4.38", "oauth2-proxy/oauth2-proxy", "wordpress:6.5-php8.2-apache", "wordpress:cli",
	"nextcloud:29-apache", "drupal:10", "ghost:5-alpine", "joomla:5", "mediawiki:1.41",
	"matomo:5", "phpmyadmin:5.2", "adminer:4.8.1", "odoo:17", "redmine:5.1",
	"discourse/base", "elixir:1.16-alpine", "erlang:26", "hexpm/elixir:1.16.3-erlang-26.2.5-alpine-3.19.1", "haskell:9.8",
	"julia:1.10", "r-base:4.4.1", "rocker/tidyverse:4.4", "swift:5.10", "dart:3.4",
	"mono:6.12", "clojure:temurin-21-lein", "perl:5.38-slim", "denoland/deno:1.44.4", "oven/bun:1.1.17",
	"oven/bun:1-alpine", "mysql/mysql-server:8.0.32", "percona:8.0", "percona/percona-server:8.0", "mariadb:11.4-noble",
	"bitnami/mariadb:11.3", "cassandra:4.1", "scylladb/scylla:5.4", "neo4j:5.20-community", "couchdb:3.3",
	"couchbase:community-7.6.1", "arangodb:3.12", "clickhouse/clickhouse-server:24.5", "yandex/clickhouse-server:21.3", "crate:5.7",
	"cockroachdb/cockroach:v24.1.1", "vitess/lite", "questdb/questdb:8.0.1", "surrealdb/surrealdb:v1.5.3", "qdrant/qdrant:v1.10.0",
	"semitechnologies/weaviate:1.25.6", "milvusdb/milvus:v2.4.5", "chromadb/chroma:0.5.3", "localstack/localstack:3.5", "mailhog/mailhog",
	"axllent/mailpit:v1.18", "mher/flower", "dpage/pgadmin4:8.9",
}

func TestLegitimateNamesAreNotFlagged(t *testing.T) {
	for _, s := range append(legitimate, realReferences...) {
		_, fs := CheckString(s, nil, nil)
		if len(nameFindings(fs)) > 0 {
			t.Errorf("%s: %+v", s, nameFindings(fs))
		}
		for _, f := range fs {
			if f.Kind == KindUnknownTag {
				t.Errorf("%s: %s", s, f.Message)
			}
		}
	}
}

// Slips of the finger and the eye on popular names, namespaces and
// registries: every one is caught.
var typos = []string{
	// Look-alikes of well-known namespaces on registries anyone can open one on.
	"gcr.io/distro1ess/static-debian12:nonroot", "gcr.io/distrolless/base-debian12", "quay.io/prometeus/node-exporter:v1.8.2",
	"quay.io/jetstak/cert-manager-controller:v1.15.3", "ghcr.io/fluxdc/flux-cli:v2.3.0", "ghcr.io/home-asistant/home-assistant:stable",
	"eu.gcr.io/distro1ess/static",
	"ubuntuu", "ubnutu", "ubunut", "ubunt0", "ubun7u", "debain", "debiian", "alpin", "alpien", "aplpine",
	"alipne", "apline", "nignx", "ngixn", "nginxx", "ngin", "nqinx", "pyton", "pythn", "pytohn",
	"pyhon", "python3", "pythonn", "golnag", "goalng", "gloang", "gollang", "nod", "nodee", "noed",
	"ndoe", "redsi", "rediss", "reids", "rdis", "postgre", "postgers", "postgress", "posgres", "postgrse",
	"mysqll", "mysq", "msyql", "myslq", "mogno", "mongoo", "mong0", "bsybox", "busbox", "busyboxx",
	"traefk", "traefikk", "hapoxy", "haproxxy", "htppd", "httpd2", "tomcta", "tomccat", "jenkis", "jekins",
	"rubby", "rubyy", "rsut", "russt", "wordpres", "wordpess", "nextclod", "ghots", "memcahced", "memcache",
	"rabitmq", "rabbitmqq", "elasticsarch", "elastcsearch", "kibanna", "docker/dockerfil", "dockr/compose", "dokcer/compose", "bitnmai/redis", "bitnami/redi",
	"bitnami/postgressql", "grafna/grafana", "grafana/grafanna", "hashicrop/vault", "hashicorp/terafrom", "prom/prometeus", "prom/promethues", "library/ubunto", "libray/ubuntu", "librarry/nginx",
	"library/nginxx", "jwilder/nginx-prxy", "jwlider/nginx-proxy", "ghrc.io/a/b", "gcr.oi/a/b", "qauy.io/a/b", "quay.oi/a/b", "regitsry.k8s.io/a", "docker.oi/a", "mcr.mircosoft.com/a",
	"pubilc.ecr.aws/a", "public.ecr.ws/a", "someone/nginx", "evil/python", "attacker/golang", "x123/redis", "hacker/postgres",
}

func TestTyposAreCaught(t *testing.T) {
	for _, s := range typos {
		_, fs := CheckString(s, nil, nil)
		nf := nameFindings(fs)
		if len(nf) == 0 {
			t.Errorf("%s: not flagged", s)
			continue
		}
		if nf[0].Resembles == "" || nf[0].Suggestion == "" {
			t.Errorf("%s: %+v", s, nf[0])
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
		"node":            {"22", "22.9.0", "20-alpine", "20.17-bookworm-slim", "lts-alpine", "iron", "jod-slim", "18-alpine3.20", "current", "20.15.1-alpine3.20", "22-bookworm", "lts-bookworm-slim", "iron-alpine3.20", "23"},
		"python":          {"3.12", "3.12.6-slim-bookworm", "3.13-rc-alpine3.20", "3.11-alpine", "3", "slim", "3.13.0rc2", "3.12-windowsservercore-ltsc2022", "3.12.4-bookworm", "3.12-alpine3.20", "3.14-rc", "3.12-windowsservercore"},
		"golang":          {"1.23", "1.23.1-alpine3.20", "1.22-bookworm", "alpine", "1.24rc1", "1.22.5-bookworm", "1.23rc2", "alpine3.20", "1.22-windowsservercore-ltsc2022"},
		"nginx":           {"1.27", "1.27.1-alpine", "1.26-alpine-slim", "stable-perl", "mainline-alpine", "1.27.1-bookworm-otel", "alpine3.20-slim", "1.27.0-bookworm-perl", "stable-alpine3.19-slim", "1.26.1-alpine3.19-perl"},
		"redis":           {"7", "7.4.0-alpine", "7.2-bookworm", "alpine3.20", "6.2", "7.2.5-bookworm", "8.0-M02", "7.2-alpine3.20"},
		"postgres":        {"16", "16.4", "16-alpine", "17rc1", "15.8-bookworm", "9.6", "16.3-bookworm", "17beta2", "18"},
		"mysql":           {"8", "8.0", "8.4.2-oracle", "lts", "innovation-oraclelinux9", "9.0", "8.0.38-debian", "8.4-oraclelinux9"},
		"mariadb":         {"11", "11.4", "10.11.9-jammy", "lts", "noble", "10.11-jammy", "11.4.2-ubi9"},
		"mongo":           {"7", "7.0.14", "8.0-noble", "6.0-jammy", "7.0.12-jammy", "windowsservercore-ltsc2022"},
		"httpd":           {"2.4", "2.4.62-alpine", "alpine", "bookworm"},
		"php":             {"8.3", "8.3-fpm", "8.3.11-fpm-alpine3.20", "8.2-apache-bookworm", "cli", "fpm-alpine"},
		"ruby":            {"3.3", "3.3.5-slim-bookworm", "3.4.0-preview1", "alpine"},
		"rust":            {"1.81", "1.81.0-slim-bookworm", "1-alpine3.20", "slim"},
		"eclipse-temurin": {"21", "21-jre", "21.0.4_7-jdk-jammy", "17-jre-alpine", "8u422-b05-jre-noble", "jre", "21-jdk-ubi9-minimal", "21.0.4_7-jre-alpine"},
		"traefik":         {"v3.1", "3.1.4", "v2.11", "mimolette", "comte", "v3.1.0-rc2"},
		"haproxy":         {"3.0", "2.8.10-alpine", "lts-alpine", "3.1-dev7"},
		"registry":        {"2", "2.8.3", "3.0.0-rc.1"},
		"docker":          {"27", "27.3.1-dind", "dind", "cli", "27-dind-rootless", "26.1-cli-alpine3.20", "27.0.3-cli", "27-dind-alpine3.20"},
		"fedora":          {"40", "41", "rawhide"},
		"amazonlinux":     {"2023", "2", "2023.5.20240916.0", "2.0.20240916.0"},
		"openjdk":         {"17-jdk-slim", "11.0.16-jre-slim-bullseye", "8-jdk-alpine", "22-ea-19-jdk-slim"},
		"rabbitmq":        {"3.13", "3.13-management", "4.0-management-alpine", "management", "3.13.4-management-alpine", "4.0.0-beta.3", "4.0-rc.1"},
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
