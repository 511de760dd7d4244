#!/usr/bin/env bash
# The whole test suite, as the README and CI run it. Installs what it needs
# when missing; needs only Go (as installed) and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
    echo "test.sh: Go is not installed (want the machine's Go 1.26)" >&2; exit 2
  fi
fi

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== distribution registry (for the registry/ crawl tests)"
# The CNCF distribution registry on a free loopback port, storage in a
# temporary directory, stopped on exit. The registry tests read
# SAFEGUARD_TEST_DISTRIBUTION and skip without it.
if [ ! -x .bench/bin/registry ]; then
  GOBIN=$PWD/.bench/bin go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
fi
dist_dir=$(mktemp -d)
dist_pid=""
stop_distribution() {
  if [ -n "$dist_pid" ]; then kill "$dist_pid" 2>/dev/null || true; wait "$dist_pid" 2>/dev/null || true; fi
  rm -rf "$dist_dir"
}
trap stop_distribution EXIT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
dist_port=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! port_in_use "$p"; then dist_port=$p; break; fi
done
[ -n "$dist_port" ] || { echo "no free port for the distribution registry"; exit 1; }
printf '%s\n' \
  'version: 0.1' \
  'log: {level: error, accesslog: {disabled: true}}' \
  "storage: {filesystem: {rootdirectory: $dist_dir/data}, delete: {enabled: true}, redirect: {disable: true}}" \
  "http: {addr: 127.0.0.1:$dist_port, secret: safeguard-test-only}" >"$dist_dir/config.yml"
.bench/bin/registry serve "$dist_dir/config.yml" >"$dist_dir/registry.log" 2>&1 &
dist_pid=$!
for _ in $(seq 1 100); do
  port_in_use "$dist_port" && break
  if ! kill -0 "$dist_pid" 2>/dev/null; then echo "distribution registry failed to start:"; cat "$dist_dir/registry.log"; exit 1; fi
  sleep 0.1
done
port_in_use "$dist_port" || { echo "distribution registry did not listen on $dist_port"; cat "$dist_dir/registry.log"; exit 1; }
export SAFEGUARD_TEST_DISTRIBUTION=127.0.0.1:$dist_port
echo "distribution registry on $SAFEGUARD_TEST_DISTRIBUTION"

echo "== cosign (for the signature interoperability test)"
# The real cosign CLI signs an image in a local registry and Safeguard must
# verify it. Built from source once; the Go build cache makes later runs quick.
if [ ! -x .bench/bin/cosign ]; then
  GOBIN=$PWD/.bench/bin go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
fi
export SAFEGUARD_TEST_COSIGN=$PWD/.bench/bin/cosign

echo "== helm (renders deploy/helm/safeguard in the admission tests)"
if [ ! -x .bench/bin/helm ]; then
  GOBIN=$PWD/.bench/bin go install helm.sh/helm/v3/cmd/helm@v3.19.0
fi
export SAFEGUARD_TEST_HELM=$PWD/.bench/bin/helm

echo "== go test"
# Fuzz seed corpora run as ordinary test cases here.
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/safeguard-test.$$.log
status=${PIPESTATUS[0]}
passed=$(grep -c '^ok ' /tmp/safeguard-test.$$.log || true)
failed=$(grep -c '^FAIL' /tmp/safeguard-test.$$.log || true)
rm -f /tmp/safeguard-test.$$.log
echo "packages: $passed passed, $failed failed"
exit "$status"
