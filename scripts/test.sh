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

echo "== go test"
# Fuzz seed corpora run as ordinary test cases here.
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/safeguard-test.$$.log
status=${PIPESTATUS[0]}
passed=$(grep -c '^ok ' /tmp/safeguard-test.$$.log || true)
failed=$(grep -c '^FAIL' /tmp/safeguard-test.$$.log || true)
rm -f /tmp/safeguard-test.$$.log
echo "packages: $passed passed, $failed failed"
exit "$status"
