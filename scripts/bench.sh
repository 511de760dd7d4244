#!/usr/bin/env bash
# Safeguard's speed targets, measured side by side with osv-scanner.
#
#   scripts/bench.sh            Go benchmarks, then the 1,000-SBOM end-to-end run
#   SKIP_GO_BENCH=1 scripts/bench.sh   only the end-to-end run
#
# 1. Go benchmarks in ./bench (BenchmarkIngestUBI9, BenchmarkReconcile1000).
# 2. End to end over N (default 1000) SBOM files: copies of a mixture of real
#    corpus SBOMs (bench.Mixture), each with distinct bytes and name.
#    Safeguard: `safeguard sbom ingest` of all N into a store (untimed
#    set-up), the feeds imported without re-matching (sgbench import), then
#    `sgbench match`: a full vuln.Reconcile over the store plus reading every
#    finding — timed, with peak RSS from /usr/bin/time -v.
#    osv-scanner v2.2.4: the same N files in one invocation (-L per file),
#    offline, with a database built from the same feeds — timed likewise.
#    Each side runs RUNS (default 3) times; medians, the ratio and peak RSS
#    are printed.
#
# Environment: N, RUNS, OSV_SCANNER, BENCHTIME (go test -benchtime, default
# 3x), SAFEGUARD_BENCH_SBOMS (stored SBOMs in the Go benchmark, default 1000),
# KEEP=1 keeps the work directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.bench/bin"
OSV_VERSION=v2.2.4
N="${N:-1000}"
RUNS="${RUNS:-3}"
FEEDS=(data/feeds/vulndb-data-osv.tar.gz data/feeds/ghsa-osv-356-records-maven-heavy.json)
# Keep in step with bench.Mixture (bench/bench.go).
MIXTURE=(
  data/sboms/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/oci-kubectl-linux-amd64-spdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/proton-bridge-v1.8.0-gomod.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/dropwizard-1.3.15-maven.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/quarkus-deps-cyclonedx.json
  sbom/testdata/corpus/claircore/go-builder-hummingbird-redhat-konflux-syft.spdx.json
  sbom/testdata/corpus/claircore/ubi9-9.6-redhat-konflux-syft.spdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/juice-shop-npm-flat.cdx-1.4.json
  sbom/testdata/corpus/guac/big-mongo-cyclonedx.json
  sbom/testdata/corpus/guac/oci-kubectl-linux-arm-v7-spdx.json
  sbom/testdata/corpus/syft/bitnami-postgresql.spdx.json
  sbom/testdata/corpus/kubevuln/alpine-3.17.spdx.json
)

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(go version | cut -d' ' -f3-), load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time (Debian package 'time')" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq time >&2; fi
fi

mkdir -p "$BIN"
OSV="${OSV_SCANNER:-$BIN/osv-scanner}"
if [ ! -x "$OSV" ]; then
  echo "== installing osv-scanner $OSV_VERSION into $BIN" >&2
  GOBIN="$BIN" go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_VERSION"
fi
go build -o "$BIN/safeguard" ./cmd/safeguard
go build -o "$BIN/sgbench" ./bench/sgbench

if [ "${SKIP_GO_BENCH:-0}" != 1 ]; then
  echo
  echo "== go test -bench . -run '^\$' -benchtime ${BENCHTIME:-3x} ./bench/"
  go test -bench . -run '^$' -benchtime "${BENCHTIME:-3x}" -timeout 60m ./bench/
fi

SBOMS=()
for f in "${MIXTURE[@]}"; do
  if [ -f "$f" ]; then SBOMS+=("$f"); else echo "note: $f not found, left out of the mixture" >&2; fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/safeguard-bench-XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; else echo "work directory: $WORK" >&2; fi

echo
echo "== end to end: $N SBOM files cycling through ${#SBOMS[@]} real SBOMs"
"$BIN/sgbench" copies -n "$N" -out "$WORK/sboms" "${SBOMS[@]}"
"$BIN/sgbench" osvdb -out "$WORK/osvdb" "${FEEDS[@]}" > /dev/null
mapfile -t FILES < <(find "$WORK/sboms" -type f | sort)
echo "   ${#FILES[@]} files, $(du -sh "$WORK/sboms" | cut -f1)"

# Safeguard set-up (untimed): store the N SBOMs, then the feeds.
t0=$(date +%s.%N)
printf '%s\0' "${FILES[@]}" | xargs -0 -n 50 "$BIN/safeguard" sbom ingest --db "$WORK/base.db" > "$WORK/ingest.log"
t1=$(date +%s.%N)
"$BIN/sgbench" import -db "$WORK/base.db" "${FEEDS[@]}"
t2=$(date +%s.%N)
printf '   set-up: safeguard sbom ingest of %d files %.1f s (decode + store; nothing to match yet), feed import %.1f s\n' \
  "${#FILES[@]}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')"
tail -1 "$WORK/ingest.log" | sed 's/^/   /'

OSV_ARGS=()
for f in "${FILES[@]}"; do OSV_ARGS+=(-L "$f"); done

rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: > "$WORK/sg.times"; : > "$WORK/osv.times"
for i in $(seq 1 "$RUNS"); do
  # A fresh copy of the never-matched store each run: every run is the
  # first full match of the fleet.
  cp "$WORK/base.db" "$WORK/run.db"
  /usr/bin/time -v -o "$WORK/sg.time.$i" "$BIN/sgbench" match -db "$WORK/run.db" > "$WORK/sg.match.$i"
  rm -f "$WORK/run.db" "$WORK/run.db-wal" "$WORK/run.db-shm"
  printf '%s %s %s\n' "$(wall "$WORK/sg.time.$i")" "$(rss "$WORK/sg.time.$i")" \
    "$(sed 's/.*"match_seconds":\([0-9.e-]*\).*/\1/' "$WORK/sg.match.$i")" >> "$WORK/sg.times"

  rc=0
  /usr/bin/time -v -o "$WORK/osv.time.$i" "$OSV" scan source --offline-vulnerabilities --local-db-path "$WORK/osvdb" \
    --format json "${OSV_ARGS[@]}" > "$WORK/osv.$i.json" 2> "$WORK/osv.$i.stderr" || rc=$?
  if [ "$rc" -gt 1 ]; then echo "osv-scanner failed ($rc):" >&2; tail -20 "$WORK/osv.$i.stderr" >&2; exit 1; fi
  printf '%s %s\n' "$(wall "$WORK/osv.time.$i")" "$(rss "$WORK/osv.time.$i")" >> "$WORK/osv.times"
  echo "   run $i: safeguard $(head -c 300 "$WORK/sg.match.$i")"
  echo "   run $i: osv-scanner wall $(wall "$WORK/osv.time.$i") s, peak RSS $(rss "$WORK/osv.time.$i") KiB"
done

SG_WALL=$(cut -d' ' -f1 "$WORK/sg.times" | median)
SG_MATCH=$(cut -d' ' -f3 "$WORK/sg.times" | median)
SG_RSS=$(cut -d' ' -f2 "$WORK/sg.times" | sort -g | tail -1)
OSV_WALL=$(cut -d' ' -f1 "$WORK/osv.times" | median)
OSV_RSS=$(cut -d' ' -f2 "$WORK/osv.times" | sort -g | tail -1)

echo
echo "== result ($N SBOMs, median of $RUNS runs each)"
printf '  safeguard match (reconcile + read all findings): %.3f s in-process; process wall %.3f s (incl. opening the store); peak RSS %d MiB\n' \
  "$SG_MATCH" "$SG_WALL" "$((SG_RSS / 1024))"
printf '  osv-scanner offline, one invocation:             %.3f s wall; peak RSS %d MiB\n' "$OSV_WALL" "$((OSV_RSS / 1024))"
printf '  ratio osv-scanner / safeguard: %.1fx (process wall), %.1fx (match only)\n' \
  "$(awk -v a="$OSV_WALL" -v b="$SG_WALL" 'BEGIN{print a/b}')" "$(awk -v a="$OSV_WALL" -v b="$SG_MATCH" 'BEGIN{print a/b}')"
echo "  load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; cp "$WORK"/sg.* "$WORK"/osv.times "$WORK"/osv.time.* "$WORK/osv.1.stderr" "$WORK/ingest.log" "$OUT"/; fi
